"""The ``petition`` command (app env), one module per command group."""
