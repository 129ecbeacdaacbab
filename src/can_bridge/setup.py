from glob import glob

from setuptools import find_packages, setup

PACKAGE = "lsv_can_bridge"

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    include_package_data=True,
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml", "README.md"]),
        (f"share/{PACKAGE}/config", glob("config/*.yaml")),
        (f"share/{PACKAGE}/dbc", glob("dbc/*.dbc") + glob("dbc/*.yaml")),
    ],
    install_requires=["setuptools"],
    zip_safe=False,
    maintainer="LSV stack maintainers",
    maintainer_email="maintainers@lsv-stack.dev",
    description="DBC-driven vehicle interface over python-can: commands out, vehicle status in, "
                "counters, checksums, watchdogs.",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "can_bridge = lsv_can_bridge.bridge_node:main",
        ],
    },
)
