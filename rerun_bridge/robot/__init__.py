"""The robot model: a URDF (from ``/robot_description`` or a file) drawn on its links' TF frames.

``uris`` resolves mesh URIs under the configured roots only, ``meshes`` loads mesh files and tessellates
primitives, ``kinematics`` turns joint values into joint transforms, ``description`` parses a URDF into
the rows that draw it, and ``state`` holds the model a pipeline has seen so that joint states can animate
the joints TF does not carry (docs/robot-model.md).
"""
