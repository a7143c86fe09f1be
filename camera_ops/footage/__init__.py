"""Footage for cases: cases, clip requests, archive jobs run by ``camera-ops worker``, acquisition
from cameras, the archive pipeline and retrieval. The custody ledger is :mod:`camera_ops.custody`."""
