"""ONVIF client side: the registration handshake (``handshake``, onvif-zeep-async) and the cheap
raw-SOAP probe (``rawsoap``). Import the module you need: the monitor and the archive worker use
only ``rawsoap`` and must not pay for zeep and its WSDLs (~100 MB of RSS, ~0.4 s of start-up)."""
