"""Letterbox preprocessing: resize keeping the aspect ratio, pad to the model's input size.

``Letterbox(input_h, input_w)`` keeps its buffers between frames (STYLE.md 7): ``__call__(image)``
writes the (1, 3, H, W) float32 input tensor and returns it with the ``LetterboxInfo`` that maps
boxes in the input back to the original image (``to_original``).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

PAD_VALUE = 114  # grey of the padding, as the YOLO trainers pad


@dataclass(frozen=True)
class LetterboxInfo:
    scale: float  # input pixels per original pixel
    pad_x: float  # px (input) left padding
    pad_y: float  # px (input) top padding
    width: int  # original image width, px
    height: int  # original image height, px

    def to_original(self, boxes: np.ndarray) -> np.ndarray:
        """(N, 4) float32 x_min, y_min, x_max, y_max in input pixels -> original pixels (clipped), in place."""
        boxes[:, 0::2] -= self.pad_x
        boxes[:, 1::2] -= self.pad_y
        boxes /= self.scale
        np.clip(boxes[:, 0::2], 0.0, float(self.width), out=boxes[:, 0::2])
        np.clip(boxes[:, 1::2], 0.0, float(self.height), out=boxes[:, 1::2])
        return boxes


def letterbox_geometry(height: int, width: int, input_h: int, input_w: int, centre: bool = True
                       ) -> tuple[float, int, int, int, int]:
    """(scale, resized_w, resized_h, pad_x, pad_y) of a ``height`` x ``width`` image in the input."""
    scale = min(input_w / width, input_h / height)
    rw, rh = max(1, min(input_w, round(width * scale))), max(1, min(input_h, round(height * scale)))
    if not centre:
        return scale, rw, rh, 0, 0
    return scale, rw, rh, (input_w - rw) // 2, (input_h - rh) // 2


class Letterbox:
    """Image (H, W, 3) uint8 -> model input (1, 3, input_h, input_w) float32, reusing buffers.

    ``pixel_scale`` multiplies the 0..255 values (1/255 for YOLOv5/v8, 1 for YOLOX);
    ``bgr`` swaps the channels (models trained on BGR frames); ``centre`` pads on both sides
    (YOLOv5/v8) instead of only right and bottom (YOLOX).
    """

    def __init__(self, input_h: int, input_w: int, pixel_scale: float = 1.0 / 255.0, bgr: bool = False,
                 centre: bool = True):
        self.input_h, self.input_w = input_h, input_w
        self.pixel_scale = np.float32(pixel_scale)
        self.bgr = bgr
        self.centre = centre
        self._canvas = np.full((input_h, input_w, 3), PAD_VALUE, np.uint8)
        self._tensor = np.empty((1, 3, input_h, input_w), np.float32)
        self._last: tuple[int, int] | None = None

    def __call__(self, image: np.ndarray) -> tuple[np.ndarray, LetterboxInfo]:
        h, w = image.shape[:2]
        scale, rw, rh, px, py = letterbox_geometry(h, w, self.input_h, self.input_w, self.centre)
        if self._last != (h, w):  # a new image size: clear the old padding
            self._canvas.fill(PAD_VALUE)
            self._last = (h, w)
        interp = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_LINEAR
        self._canvas[py:py + rh, px:px + rw] = cv2.resize(image, (rw, rh), interpolation=interp)
        src = self._canvas[..., ::-1] if self.bgr else self._canvas
        np.multiply(src.transpose(2, 0, 1), self.pixel_scale, out=self._tensor[0], casting="unsafe")
        return self._tensor, LetterboxInfo(scale, float(px), float(py), w, h)
