"""Punchcard face-match service. Face enrolment and 1:N identification at the kiosk (dlib's
ResNet by default; DeepFace's TensorFlow models with the ``tensorflow`` extra). Owns face
templates; follows the compacted templates topic in every replica; answers face punch attempts
with identification verdicts. Scaled on its own."""
