# The C firmware core is compiled into wearsense._firmware by cffi at install time.
from setuptools import setup

setup(cffi_modules=["firmware/port/host/ffi_build.py:ffibuilder"])
