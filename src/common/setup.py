from glob import glob

from setuptools import find_packages, setup

PACKAGE = "lsv_common"

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    package_data={PACKAGE: ["data/*.xml"]},
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/config", glob("config/*.yaml")),
    ],
    install_requires=["setuptools"],
    zip_safe=False,
    maintainer="LSV stack maintainers",
    maintainer_email="maintainers@lsv-stack.dev",
    description=(
        "Shared building blocks: typed parameters, fixed-rate loops, diagnostics, middleware"
        " defaults, message/numpy conversions."
    ),
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
        ],
    },
)
