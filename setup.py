"""ament_python package: ``colcon build`` on a ROS machine, or ``pip install .`` anywhere."""

from glob import glob

from setuptools import Extension, find_packages, setup

PACKAGE = "rerun_bridge"

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(include=["rerun_bridge", "rerun_bridge.*", "rviz_compat", "rviz_compat.*"]),
    package_data={PACKAGE: ["py.typed", "convert/_cloud_native.pyi", "cdr/_marker_walk.pyi"]},
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", glob("launch/*.launch.py")),
        (f"share/{PACKAGE}/config", [*glob("config/*.yaml"), *glob("config/*.xml")]),
        (f"share/{PACKAGE}/config/blueprints", glob("config/blueprints/*.yaml")),
    ],
    # Hot loops in C: a PointCloud2's points, a MarkerArray's layout. Optional: without a compiler the
    # package installs and does the same with numpy (convert/pointcloud.py, cdr/marker_scan.py), which
    # the tests hold the C code to.
    ext_modules=[
        Extension(
            f"{PACKAGE}.{module}",
            [f"{PACKAGE}/{module.replace('.', '/')}.c"],
            # No fused multiply-adds: the C code must round as numpy does, number for number (arm64 fuses).
            extra_compile_args=["-O3", "-ffp-contract=off"],
            optional=True,
        )
        for module in ("convert._cloud_native", "cdr._marker_walk")
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
