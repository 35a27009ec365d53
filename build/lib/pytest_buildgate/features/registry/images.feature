Feature: The images landed in the registry
  The workflow pushes both images to GHCR, tagged with the branch, the commit and latest, with
  SBOM and provenance attestations and OCI labels naming the repository and the commit. The
  tag for "the current main commit" is what the workflow model computes for the newest commit
  on the default branch that runs the workflow; no tag format is assumed.

  Background:
    Given the registry that holds the target's images

  @registry @G1
  Scenario: latest exists for both images
    Then every image has the tag "latest"

  @registry @G2
  Scenario: The tag for the current main commit exists for both images
    Given the commit the workflow built last on the default branch
    Then every image has the commit tag the workflow pushes for that commit

  @registry @G3
  Scenario: latest and the commit tag are the same image
    Given the commit the workflow built last on the default branch
    Then "latest" and the commit tag resolve to the same digest for every image

  @registry @G4
  Scenario: Every platform image carries SBOM and provenance attestations
    Given the commit the workflow built last on the default branch
    Then every platform image of the commit tag carries an SPDX SBOM and a SLSA provenance

  @registry @G5
  Scenario: The provenance names the repository and the commit
    Given the commit the workflow built last on the default branch
    Then every provenance names the source repository and that commit

  @registry @G6
  Scenario: The OCI labels name the repository and the commit
    Given the commit the workflow built last on the default branch
    Then every image's OCI labels name the source repository and that commit
