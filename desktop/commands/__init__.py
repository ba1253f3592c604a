"""Commands the ``otscc`` CLI dispatches to (``otscc gui``)."""
