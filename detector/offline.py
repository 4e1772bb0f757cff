"""The one import point for ultralytics, set up so it never reaches the network.

Importing ``YOLO`` from here (not from ``ultralytics`` directly) guarantees the offline switches
are in place before ultralytics reads them: no hub, no telemetry, no font or weight downloads.
"""

import os

os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_VERBOSE", "False")

from ultralytics import YOLO
from ultralytics.utils import SETTINGS

_OFF = {
    "sync": False,
    "clearml": False,
    "comet": False,
    "dvc": False,
    "mlflow": False,
    "raytune": False,
    "tensorboard": False,
    "wandb": False,
    "hub": False,
}
SETTINGS.update({k: v for k, v in _OFF.items() if k in SETTINGS})

__all__ = ["YOLO"]
