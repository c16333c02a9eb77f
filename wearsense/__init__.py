"""WearSense host library: protocol, firmware binding, link, store, updates, export.

Research software, not a medical device.
"""

__version__ = "0.1.0"
