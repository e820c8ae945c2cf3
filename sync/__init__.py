"""fieldsync's protocol core: pure Python, shared by the server and the device.

Nothing in this package imports Flask, SQLAlchemy or the server: a device needs only
this package, ``client_schema`` and an HTTP transport.
"""

__all__ = ["PROTOCOL_VERSION"]

PROTOCOL_VERSION = 1
