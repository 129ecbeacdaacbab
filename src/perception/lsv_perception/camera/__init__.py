"""Camera object detector core (pure: numpy, OpenCV, ONNX Runtime; no rclpy).

- ``preprocess``: letterbox an image into the model's input tensor and map boxes back;
- ``decode``: the output layouts of common single-stage detectors (YOLOv5, YOLOv8, YOLOX),
  vectorized, and class-wise NMS;
- ``labels``: the labels file and the mapping of label names to ``lsv_msgs/DetectedObject`` classes;
- ``detector``: ``CameraDetector`` (ONNX Runtime session, model and shape validation).
"""
