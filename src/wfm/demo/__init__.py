"""The demo: Customer Service's data (``seed``) and the one-call set-up (``install``)."""

from wfm.demo.generate import DemoData, seed
from wfm.demo.install import Installed, install, install_demo

__all__ = ["DemoData", "Installed", "install", "install_demo", "seed"]
