Feature: The build workflow
  Images can't be built in the devpod (nested overlayfs), so a GitHub Actions workflow builds
  both images with Buildx, pushes them to GHCR and writes the new tags into the kustomization.
  Conditions, pushes and tags are evaluated per event, not found by string search.

  Background:
    Given the target repository

  @repo @W1
  Scenario: The workflow file is where the resolution says
    Then the workflow file exists at the claimed path

  @repo @W1b
  Scenario: Some workflow builds and pushes both images, whatever its name
    Then some workflow builds and pushes both images

  @repo @W2
  Scenario: The workflow is valid YAML and a valid workflow
    Then the workflow is valid YAML and a valid workflow

  @repo @W3
  Scenario: It triggers on pushes to main, pull requests and manual runs
    Given the build workflow of the target
    Then it triggers on pushes to the default branch, pull requests and manual runs, for changes to either image

  @repo @W4
  Scenario: Both images are built with Buildx from their contexts
    Given the build workflow of the target
    Then it builds both images with Buildx from their contexts

  @repo @W5
  Scenario: It pushes each image to its registry, and never on a pull request
    Given the build workflow of the target
    Then it pushes each image to its registry with credentials that registry accepts, and never on a pull request

  @repo @W6
  Scenario: Images are tagged with the branch name, the commit SHA and latest
    Given the build workflow of the target
    Then a push to the default branch is tagged with the branch name, the commit SHA and latest

  @repo @W7
  Scenario: The layer cache lives in the GitHub Actions cache
    Given the build workflow of the target
    Then the builds use the GitHub Actions layer cache

  @repo @W8
  Scenario: SBOM and provenance attestations are enabled
    Given the build workflow of the target
    Then the builds attach SBOM and provenance attestations

  @repo @W9
  Scenario: A job writes the new tags into the kustomization after both builds
    Given the build workflow of the target
    Then a job updates the kustomization after both builds
    And that job runs only on a push to the default branch
    And that job may write the repository's contents
    And that job commits the kustomization change
    And that job retries a rejected push a bounded number of times

  @repo @W10
  Scenario: The tag written to the kustomization is one the build pushed
    Given the build workflow of the target
    Then the tag that job writes is a tag the build pushes

  @repo @W11
  Scenario: Every tag computed for every triggering event is valid
    Given the build workflow of the target
    Then every tag computed for every triggering event is a valid image tag

  @repo @W12
  Scenario: One workflow owns each image tag
    Then no two workflows or jobs push the same image tag on the same event
