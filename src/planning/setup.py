from glob import glob

from setuptools import find_packages, setup

PACKAGE = "lsv_planning"

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    include_package_data=True,
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/config", glob("config/*.yaml")),
    ],
    install_requires=["setuptools", "numpy", "scipy", "pyyaml"],
    zip_safe=False,
    maintainer="LSV stack maintainers",
    maintainer_email="maintainers@lsv-stack.dev",
    description=(
        "Lanelet2 route, behaviour (lights, crosswalks, obstacles, emergency vehicles, mission"
        " stops), velocity profile, trajectory."
    ),
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "planner = lsv_planning.planner_node:main",
        ],
    },
)
