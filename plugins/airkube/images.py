"""Task image references: registry + name + tag from one setting, checked before a pod exists.

A malformed reference otherwise surfaces only as `InvalidImageName` on the node, after the
scheduler has already handed the task a slot.
"""

from __future__ import annotations

import re

from airkube.errors import FieldError

# The grammar of github.com/distribution/reference (the one container runtimes use), condensed.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_HOST_PART = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
_DOMAIN = rf"(?:{_HOST_PART}(?:\.{_HOST_PART})*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?"
_NAME = rf"(?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*"
_TAG = r"[\w][\w.-]{0,127}"
_REFERENCE = re.compile(rf"^(?P<name>{_NAME})(?::(?P<tag>{_TAG}))$")
_SHORT_NAME = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")


def task_image(name: str, *, registry: str, tag: str) -> str:
    """The full reference of a platform task image, e.g. `<ecr>/airkube/pipeline:0.1.0`.

    `name` is the short repository name (`pipeline`); the registry and tag come from the platform
    settings so that every DAG follows a release by changing one value. A reference a container
    runtime would refuse is a FieldError of the task's ``image``.
    """
    if not isinstance(name, str) or not _SHORT_NAME.match(name):
        raise FieldError(
            "image",
            f"{name!r} is not an image name: use lower-case letters, digits and . _ - (for example "
            f"'pipeline'); the registry and tag come from AIRKUBE_IMAGE_REGISTRY and AIRKUBE_IMAGE_TAG",
        )
    reference = f"{registry}/{name}:{tag}"
    match = _REFERENCE.match(reference)
    if not match or len(match.group("name")) > 255:
        raise FieldError(
            "image", f"{reference!r} is not a valid image reference (check the registry and the tag)"
        )
    return reference
