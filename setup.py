"""ament_python package: ``colcon build`` on a ROS machine, or ``pip install .`` anywhere."""

from glob import glob

from setuptools import Extension, find_packages, setup

PACKAGE = "rerun_bridge"

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(include=["rerun_bridge", "rerun_bridge.*", "rviz_compat", "rviz_compat.*"]),
    package_data={PACKAGE: ["py.typed"]},
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", glob("launch/*.launch.py")),
        (f"share/{PACKAGE}/config", [*glob("config/*.yaml"), *glob("config/*.xml")]),
        (f"share/{PACKAGE}/config/blueprints", glob("config/blueprints/*.yaml")),
    ],
    # The PointCloud2 hot loop in C. Optional: without a compiler the package installs and decodes clouds
    # with numpy (rerun_bridge/convert/pointcloud.py), which the tests hold the C path to.
    ext_modules=[
        Extension(
            f"{PACKAGE}.convert._cloud_native",
            [f"{PACKAGE}/convert/_cloud_native.c"],
            extra_compile_args=["-O3"],
            optional=True,
        )
    ],
    install_requires=["setuptools"],
    zip_safe=False,
    maintainer="rerun_bridge developers",
    maintainer_email="rerun-bridge@example.invalid",
    description="ROS 2 bridge to Rerun: bags and live topics to .rrd and .mcap, with an embedded viewer",
    license="Apache-2.0",
    python_requires=">=3.10",
    entry_points={
        "console_scripts": [
            "rerun-bridge = rerun_bridge.cli:main",
            # `ros2 run rerun_bridge bridge_node`: the same node as `rerun-bridge run`, named the ROS way.
            "bridge_node = rerun_bridge.ros_distro:bridge_node_main",
        ]
    },
)
