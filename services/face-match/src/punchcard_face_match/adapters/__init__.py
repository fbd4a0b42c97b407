"""Adapters: the face pipeline (OpenCV, dlib, DeepFace models), its worker processes, and the
PostgreSQL repository of templates and projections."""
