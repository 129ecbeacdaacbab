from glob import glob

from setuptools import find_packages, setup

PACKAGE = "lsv_sim"

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    include_package_data=True,
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/config", glob("config/*.yaml")),
        (f"share/{PACKAGE}/maps", glob("maps/*")),
        (f"share/{PACKAGE}/scenarios", glob("scenarios/*.yaml")),
        (f"share/{PACKAGE}/scenarios/faults", glob("scenarios/faults/*.yaml")),
    ],
    install_requires=["setuptools"],
    zip_safe=False,
    maintainer="LSV stack maintainers",
    maintainer_email="maintainers@lsv-stack.dev",
    description=(
        "Built-in simulator: vehicle dynamics, sensors, simulated chassis ECU on CAN, simulated"
        " road-side unit, scenarios."
    ),
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "chassis = lsv_sim.chassis_node:main",
            "rsu = lsv_sim.rsu_node:main",
            "simulator = lsv_sim.sim_node:main",
        ],
    },
)
