Feature: The devpod limitation is real, and the scripts send developers to the docs
  The fix rests on a claim about the devpod: its root filesystem is overlayfs, so a container
  build there needs a nested overlay mount, which the kernel refuses. A developer who runs the
  local build script in the devpod must be stopped before any build and sent to DOCKER_BUILD.md,
  and the devpod trigger script must start exactly the workflow that builds the images.

  Background:
    Given the devpod

  @devpod @V1
  Scenario: The devpod's root filesystem is overlay
    Then the devpod's root filesystem is overlay

  @devpod @V2
  Scenario: A container build in the devpod fails with the overlay error
    When a throwaway image is built inside the devpod
    Then the build fails with the nested-overlay error

  @devpod @V3
  Scenario: The local build script stops in the devpod and names the docs
    When the local build script runs in the devpod with every build tool shimmed
    Then the script exits non-zero before any build or push
    And its output names the build docs

  @devpod @V4
  Scenario: The devpod trigger script asks for exactly the build workflow
    When the devpod trigger script runs in the devpod with gh shimmed
    Then it asks gh for exactly the workflows that build both images
    And the real gh accepts every call it made
