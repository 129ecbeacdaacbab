from glob import glob

from setuptools import find_packages, setup

PACKAGE = "lsv_perception"

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    include_package_data=True,
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/config", glob("config/*.yaml")),
        # models/ is a link to the repository's models/: the ONNX models and their labels and cards
        (f"share/{PACKAGE}/models", glob("models/*.onnx") + glob("models/*.labels") + glob("models/*.md")),
    ],
    install_requires=["setuptools"],
    zip_safe=False,
    maintainer="LSV stack maintainers",
    maintainer_email="maintainers@lsv-stack.dev",
    description="Camera detector (ONNX), lidar pipeline (Open3D + ONNX), camera-lidar fusion and multi-object tracker.",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "camera_detector = lsv_perception.camera_node:main",
            "lidar_detector = lsv_perception.lidar_node:main",
            "tracker = lsv_perception.tracker_node:main",
            "traffic_light_classifier = lsv_perception.traffic_light_node:main",
        ],
    },
)
