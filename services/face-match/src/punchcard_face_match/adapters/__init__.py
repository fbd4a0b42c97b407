"""Adapters: the face pipeline (OpenCV, dlib, DeepFace's models where installed), what each
model runs on (models.py), its worker processes, and the
PostgreSQL repository of templates and projections."""
