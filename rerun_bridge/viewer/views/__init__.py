"""The viewer's views: one module per kind of view, all built on :class:`~.base.ViewBase`."""
