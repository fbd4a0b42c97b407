"""Is an enrolment photo good enough to become a template? Pure rules on what the pipeline
measured. A template made from a poor photo makes every later punch of that worker worse, so a
photo is refused with the reason an admin can act on (retake closer, steadier, in light).

Defaults (settings ENROL_*) come from measurements on real photos (docs/face-match.md): faces
in the sample photos at kiosk size measured 73-259 px wide, sharpness 85-1244 and brightness
83-187, while the same photo blurred (Gaussian sigma 2) measured 49, sigma 3 measured 20, and
darkened to 20 % measured a brightness of 25.
"""

from __future__ import annotations

from dataclasses import dataclass

NO_FACE = "NO_FACE"
MULTIPLE_FACES = "MULTIPLE_FACES"
FACE_TOO_SMALL = "FACE_TOO_SMALL"
TOO_BLURRY = "TOO_BLURRY"
TOO_DARK = "TOO_DARK"
TOO_BRIGHT = "TOO_BRIGHT"
INVALID_IMAGE = "INVALID_IMAGE"
IMAGE_TOO_LARGE = "IMAGE_TOO_LARGE"

MESSAGES = {
    NO_FACE: "No face was found in the photo.",
    MULTIPLE_FACES: "The photo shows more than one face; upload a photo of the worker alone.",
    FACE_TOO_SMALL: "The face is too small; take the photo closer ({face_px} px wide, at least "
    "{min_face_px} px needed).",
    TOO_BLURRY: "The photo is too blurry; hold the camera still and focus on the face.",
    TOO_DARK: "The face is too dark; take the photo in better light.",
    TOO_BRIGHT: "The face is overexposed; avoid direct light or flash.",
    INVALID_IMAGE: "The file is not a JPEG or PNG image that can be read.",
    IMAGE_TOO_LARGE: "The image has too many pixels; upload a photo of at most {max_pixels} "
    "pixels (width × height).",
}


@dataclass(frozen=True)
class QualityPolicy:
    min_face_px: int = 80
    min_sharpness: float = 40.0
    min_brightness: float = 45.0
    max_brightness: float = 215.0
    # Width × height an enrolment photo's header may declare (checked before decoding).
    max_pixels: int = 40_000_000


def problem(face_px: int, sharpness: float, brightness: float, policy: QualityPolicy) -> str | None:
    """The first reason to refuse a single detected face, or None when it is usable."""
    if face_px < policy.min_face_px:
        return FACE_TOO_SMALL
    if brightness < policy.min_brightness:
        return TOO_DARK
    if brightness > policy.max_brightness:
        return TOO_BRIGHT
    if sharpness < policy.min_sharpness:
        return TOO_BLURRY
    return None


def score(face_px: int, sharpness: float, brightness: float, policy: QualityPolicy) -> float:
    """Quality in [0, 1]: 1 for a face twice the minimum size, three times the minimum
    sharpness and mid-range light; each shortfall scales it down."""
    size = min(1.0, face_px / (2.0 * policy.min_face_px))
    sharp = min(1.0, sharpness / (3.0 * policy.min_sharpness)) if policy.min_sharpness else 1.0
    middle = (policy.min_brightness + policy.max_brightness) / 2.0
    half_range = max(1.0, (policy.max_brightness - policy.min_brightness) / 2.0)
    light = max(0.0, 1.0 - 0.5 * abs(brightness - middle) / half_range)
    return round(max(0.0, min(1.0, size * sharp * light)), 3)


def message(reason: str, face_px: int = 0, policy: QualityPolicy | None = None) -> str:
    policy = policy or QualityPolicy()
    return MESSAGES[reason].format(
        face_px=face_px, min_face_px=policy.min_face_px, max_pixels=policy.max_pixels
    )


def within_pixel_cap(width: int, height: int, max_pixels: int) -> bool:
    """An image is decoded only if its header declares at most ``max_pixels`` (a decompression
    bomb declares a huge picture in a small file)."""
    return width > 0 and height > 0 and width * height <= max_pixels
