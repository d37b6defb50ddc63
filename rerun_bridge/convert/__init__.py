"""Converters: pure functions from one decoded ROS message to rows (or a batch of same-layout messages to
column rows), one module per ROS package.

:mod:`.registry` defines what a converter is and the :class:`~.registry.ConverterTable` that maps type
names to converters; :mod:`.builtin` is the table of every built-in one (``BUILTIN_CONVERTERS``). Helpers:
:mod:`.image_encoding` and :mod:`.pointcloud` (pixel and point decoding), :mod:`.columnar` (what column
converters read), :mod:`.raw` and :mod:`.arrow_schema` (the raw-columns fallback for unknown types).
"""
