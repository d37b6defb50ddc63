"""The robot model: a URDF (from ``/robot_description`` or a file) drawn on its links' TF frames.

``uris`` resolves mesh URIs under the configured roots only, ``meshes`` loads mesh files and tessellates
primitives, ``kinematics`` turns joint values into joint poses, ``description`` parses a URDF into visual
meshes and joints, ``rows`` makes the rows that draw them, ``state`` holds the model a pipeline has seen so
that joint states can animate the joints TF does not carry, and ``settings`` reads the config section and
the command-line options (docs/robot-model.md).
"""
