"""Camera detector (ONNX), lidar pipeline (Open3D + ONNX), camera-lidar fusion and multi-object tracker."""
