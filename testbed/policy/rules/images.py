"""Image rules: pinned tags and trusted registries."""

from __future__ import annotations

from collections.abc import Iterator

from testbed.policy.model import Document, Finding, Severity
from testbed.policy.rules.registry import per_document, rule
from testbed.policy.rules.workloads import containers, pod_spec
from testbed.policy.settings import PolicySettings

IMAGE_TAG = rule("TB-IMAGE-TAG", Severity.ERROR, "images",
                 "`:latest` or no tag means the running version changes without a manifest change.",
                 "Pin a version tag or a digest (image:1.2.3 or image@sha256:...).")
IMAGE_REGISTRY = rule("TB-IMAGE-REGISTRY", Severity.ERROR, "images",
                      "Images from unreviewed registries bypass supply-chain controls.",
                      "Pull from an allowed registry (--allowed-registry) or mirror the image there.")


def split_image(image: str) -> tuple[str, str, str | None, str | None]:
    """(registry, repository, tag, digest); registry defaults to docker.io."""
    rest, _, digest = image.partition("@")
    first, slash, remainder = rest.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        registry, path = first, remainder
    else:
        registry, path = "docker.io", rest
    name, colon, tag = path.rpartition(":")
    if not colon or "/" in tag:
        name, tag = path, ""
    return registry, name, tag or None, digest or None


def registry_allowed(registry: str, allowed: tuple[str, ...]) -> bool:
    host = registry.split(":")[0] if registry.startswith("localhost") else registry
    for entry in allowed:
        if registry == entry or host == entry or registry.startswith(entry.rstrip("/") + "/"):
            return True
    return False


@per_document(IMAGE_TAG, IMAGE_REGISTRY)
def check_images(doc: Document, settings: PolicySettings) -> Iterator[Finding]:
    found = pod_spec(doc)
    if found is None:
        return
    spec, spec_path = found
    for c in containers(spec, spec_path):
        image = c.spec.get("image")
        path = f"{c.path}.image"
        if not isinstance(image, str) or not image.strip():
            yield IMAGE_TAG.at(doc, path, f"container {c.name!r} has no image")
            continue
        registry, _, tag, digest = split_image(image.strip())
        if digest is None and tag is None:
            yield IMAGE_TAG.at(doc, path, f"container {c.name!r} image {image!r} has no tag")
        elif digest is None and tag == "latest":
            yield IMAGE_TAG.at(doc, path, f"container {c.name!r} image {image!r} uses :latest")
        if not registry_allowed(registry, settings.allowed_registries):
            yield IMAGE_REGISTRY.at(
                doc, path,
                f"container {c.name!r} image {image!r} comes from {registry}, not an allowed registry "
                f"({', '.join(settings.allowed_registries) or 'none configured'})",
            )
