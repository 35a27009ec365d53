"""G1-G6 and K4 against the real registry (token auth): the good set passes, each mutant fails
with a one-line message naming the image, the tag or digest, and what was expected."""
from __future__ import annotations

import pytest

from buildgate.errors import CannotDecide, Unauthorized
from buildgate.oci import RegistryClient, StaticCredentials
from buildgate.oci import checks as g
from tests.registry.conftest import COMMIT, FORK, OLD, PRIVATE, REPO_URL, TAGS


@pytest.fixture(scope="module")
def client(lab):
    c = RegistryClient(mirrors=lab.registry.mirrors, timeout=5)
    yield c
    c.close()


def one_line(result):
    assert "\n" not in result.message
    return result.message


def test_good_set_passes_every_check(lab, client):
    img = [lab.image("good")]
    for result in (
        g.g1_tag_exists(client, img, "latest"),
        g.g2_commit_tags_exist(client, img, TAGS, COMMIT),
        g.g3_same_digest(client, img, TAGS, COMMIT),
        g.g4_attestations_present(client, img, TAGS, COMMIT),
        g.g5_provenance_matches(client, img, TAGS, COMMIT, REPO_URL),
        g.g6_labels_match(client, img, TAGS, COMMIT, REPO_URL),
        g.k4_newtags_exist(client, [g.ImageRef(img[0], COMMIT[:7], None, "k8s/kustomization.yml:13")], img),
    ):
        assert result.ok, result.message
        assert result.evidence and all(lab.image("good") in e for e in result.evidence)


def test_g1_latest_missing(lab, client):
    r = g.g1_tag_exists(client, [lab.image("good"), lab.image("latest-missing")], "latest")
    assert not r.ok
    assert f"expected {lab.image('latest-missing')}:latest to exist" in one_line(r)
    assert "404" in r.message and lab.image("good") + ":" not in r.message


def test_g2_no_commit_tag(lab, client):
    r = g.g2_commit_tags_exist(client, [lab.image("no-commit-tag")], TAGS, COMMIT)
    assert not r.ok
    assert f"{lab.image('no-commit-tag')}:{COMMIT[:7]} to exist" in one_line(r)
    assert COMMIT[:12] in r.message


def test_g2_uses_the_tags_the_workflow_computes(lab, client):
    # a workflow pushing sha-<7> would need that tag: the good set doesn't have it
    r = g.g2_commit_tags_exist(client, [lab.image("good")], {lab.image("good"): ["main", f"sha-{COMMIT[:7]}", "latest"]}, COMMIT)
    assert not r.ok and f":sha-{COMMIT[:7]} to exist" in r.message


def test_g2_without_a_commit_tag_in_the_model_cannot_decide(lab, client):
    with pytest.raises(CannotDecide, match="no tag naming commit"):
        g.g2_commit_tags_exist(client, [lab.image("good")], ["main", "latest"], COMMIT)


def test_g3_latest_stale(lab, client):
    r = g.g3_same_digest(client, [lab.image("latest-stale")], TAGS, COMMIT)
    assert not r.ok
    stale = client.resolve_tag(lab.image("latest-stale"), "latest").digest
    fresh = client.resolve_tag(lab.image("latest-stale"), COMMIT[:7]).digest
    msg = one_line(r)
    assert f"expected {lab.image('latest-stale')}:latest to resolve to {fresh}" in msg
    assert f"found {stale}" in msg


def test_g3_latest_missing(lab, client):
    r = g.g3_same_digest(client, [lab.image("latest-missing")], TAGS, COMMIT)
    assert not r.ok and "latest missing (404)" in r.message


@pytest.mark.parametrize("mutant, lacking", [
    ("no-sbom", "an SPDX SBOM attestation"),
    ("no-provenance", "a SLSA provenance attestation"),
    ("no-attestations", "an SPDX SBOM and a SLSA provenance attestation"),
])
def test_g4_missing_attestations(lab, client, mutant, lacking):
    r = g.g4_attestations_present(client, [lab.image(mutant)], TAGS, COMMIT)
    assert not r.ok
    msg = one_line(r)
    assert msg.startswith(f"expected {lacking};")
    assert f"{lab.image(mutant)}@sha256:" in msg and "linux/amd64" in msg


@pytest.mark.parametrize("mutant", ["artifact-v1", "cosign"])
def test_g4_g5_other_layouts_pass(lab, client, mutant):
    img = [lab.image(mutant)]
    r4 = g.g4_attestations_present(client, img, TAGS, COMMIT)
    assert r4.ok, r4.message
    assert ("cosign tag" if mutant == "cosign" else "buildx index") in " ".join(r4.evidence)
    r5 = g.g5_provenance_matches(client, img, TAGS, COMMIT, REPO_URL)
    assert r5.ok, r5.message
    if mutant == "artifact-v1":
        assert "provenance/v1" in " ".join(r5.evidence)


def test_g5_provenance_names_another_commit(lab, client):
    r = g.g5_provenance_matches(client, [lab.image("provenance-other-commit")], TAGS, COMMIT, REPO_URL)
    assert not r.ok
    msg = one_line(r)
    assert f"expected provenance commit {COMMIT}; found predicate.metadata.vcs.revision={OLD}" in msg
    assert "provenance of linux/amd64" in msg


def test_g5_provenance_names_another_repository(lab, client):
    r = g.g5_provenance_matches(client, [lab.image("provenance-other-repo")], TAGS, COMMIT, REPO_URL)
    assert not r.ok
    assert f"expected provenance source {REPO_URL}; found" in r.message and FORK in r.message


def test_g5_no_provenance(lab, client):
    r = g.g5_provenance_matches(client, [lab.image("no-provenance")], TAGS, COMMIT, REPO_URL)
    assert not r.ok and "no provenance attestation" in r.message


def test_g6_wrong_labels(lab, client):
    r = g.g6_labels_match(client, [lab.image("wrong-labels")], TAGS, COMMIT, REPO_URL)
    assert not r.ok
    msg = one_line(r)
    assert f"expected label org.opencontainers.image.source={REPO_URL}; found '{FORK}'" in msg
    assert f"expected label org.opencontainers.image.revision={COMMIT}; found '{OLD}'" in msg
    assert "config" in msg and f"{lab.image('wrong-labels')}@sha256:" in msg


def test_g6_no_labels(lab, client):
    r = g.g6_labels_match(client, [lab.image("no-labels")], TAGS, COMMIT, REPO_URL)
    assert not r.ok and r.message.count("no such label") == 2


def test_g4_to_g6_fail_when_the_commit_tag_is_missing(lab, client):
    for fn in (g.g4_attestations_present, g.g5_provenance_matches, g.g6_labels_match):
        args = (client, [lab.image("no-commit-tag")], TAGS, COMMIT) + ((REPO_URL,) if fn is not g.g4_attestations_present else ())
        r = fn(*args)
        assert not r.ok and f":{COMMIT[:7]} to exist to read what was built" in r.message


def test_k4_newtag_never_pushed(lab, client):
    img = lab.image("good")
    refs = [g.ImageRef(img, "main-1234567", None, "k8s/kustomization.yml:13")]
    r = g.k4_newtags_exist(client, refs, [img])
    assert not r.ok
    assert one_line(r) == (f"expected {img}:main-1234567 (the kustomization's newTag) to exist in the registry; "
                           "found no such tag (404) (at k8s/kustomization.yml:13)")


def test_k4_digest_pins_and_missing_entries(lab, client):
    img = lab.image("good")
    digest = client.resolve_tag(img, "latest").digest
    ok = g.k4_newtags_exist(client, [g.ImageRef(img, None, digest, "k.yml:3")], [img])
    assert ok.ok, ok.message
    bad = g.k4_newtags_exist(client, [g.ImageRef(img, None, "sha256:" + "0" * 64, "k.yml:3")], [img])
    assert not bad.ok and "no such manifest (404)" in bad.message
    other = lab.image("no-sbom")
    none = g.k4_newtags_exist(client, [g.ImageRef(img, "latest", None, "k.yml:3")], [img, other])
    assert not none.ok and f"an images: entry with newTag for {other}" in none.message


def test_private_repository_needs_credentials(lab):
    image = f"{lab.registry.registry_host}/{PRIVATE}"
    anon = RegistryClient(mirrors=lab.registry.mirrors, timeout=5)
    with pytest.raises(Unauthorized) as exc:
        anon.resolve_tag(image, "latest")
    assert "anonymous access was refused" in str(exc.value) or "401" in str(exc.value)
    anon.close()
    user = "reader"
    password = lab.registry.tokens.add_user(user)
    creds = StaticCredentials({lab.registry.host_port: (user, password)}, source="test creds")
    authed = RegistryClient(mirrors=lab.registry.mirrors, timeout=5, credentials=creds)
    assert authed.resolve_tag(image, "latest") is not None
    authed.close()
    wrong = StaticCredentials({lab.registry.host_port: (user, "not-the-password-s3cr3t")}, source="test creds")
    bad = RegistryClient(mirrors=lab.registry.mirrors, timeout=5, credentials=wrong)
    with pytest.raises(Unauthorized) as exc:
        bad.resolve_tag(image, "latest")
    text = str(exc.value)
    assert "credentials from test creds were rejected" in text
    assert "s3cr3t" not in text and password not in text
    bad.close()


def test_requests_per_image_and_no_repeats(lab):
    """G1-G6 cost at most 8 requests per image (tokens included) and nothing is asked twice."""
    c = RegistryClient(mirrors=lab.registry.mirrors, timeout=5)
    imgs = [lab.image("good"), lab.image("artifact-v1")]
    for _ in range(2):  # the second round must be served from the cache
        g.g1_tag_exists(c, imgs, "latest")
        g.g2_commit_tags_exist(c, imgs, TAGS, COMMIT)
        g.g3_same_digest(c, imgs, TAGS, COMMIT)
        g.g4_attestations_present(c, imgs, TAGS, COMMIT)
        g.g5_provenance_matches(c, imgs, TAGS, COMMIT, REPO_URL)
        g.g6_labels_match(c, imgs, TAGS, COMMIT, REPO_URL)
    per = c.requests.per_image()
    for img in imgs:
        assert sum(per[img].values()) <= 8, per
        assert per[img].get("token") == 1, per
    assert c.requests.repeated() == []
    c.close()
