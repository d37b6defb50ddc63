"""Blueprints: the layout of views for one debugging scenario, as a plain model.

:mod:`.model` is the tree of containers and views every part of the project shares (the embedded viewer
builds its widgets from it); :mod:`.loader` reads and writes its YAML (with :mod:`.values` checking single
values); :mod:`.library` finds the shipped scenarios by name; :mod:`.heuristic` makes a default from the
data; :mod:`.export` turns a blueprint into Rerun's own (``.rbl``, or embedded in an ``.rrd``).
"""
