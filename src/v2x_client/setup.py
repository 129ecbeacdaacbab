from glob import glob

from setuptools import find_packages, setup

PACKAGE = "lsv_v2x_client"

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    include_package_data=True,
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/config", glob("config/*.yaml")),
        (f"share/{PACKAGE}/asn1", glob("asn1/*.asn")),
    ],
    install_requires=["setuptools", "asn1tools", "cryptography", "numpy", "pyyaml"],
    zip_safe=False,
    maintainer="LSV stack maintainers",
    maintainer_email="maintainers@lsv-stack.dev",
    description="Receives C-V2X road-side messages over UDP, decodes ASN.1 UPER, checks plausibility, publishes hints.",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "v2x_client = lsv_v2x_client.client_node:main",
        ],
    },
)
