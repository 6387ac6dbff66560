"""What differs between vision tasks, one small module each.

``base`` defines the interface, ``classification``, ``segmentation`` and
``detection`` implement it, ``registry.get_task`` picks one by name (the name
of its contract in :mod:`common.tasks`).  Task modules import
``base`` and the model builders, never the registry, so there is no import
cycle; everything shared (decoding, backbones, the training loop, export)
lives outside this package.
"""
