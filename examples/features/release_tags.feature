# A team's own criterion, X1, declared in its target file (see ../target.own-criteria.yml):
#   criteria:
#     X1: {title: "Release tags publish versioned images", layer: repo}
# Run it with the built-in ones:
#   python3 -m pytest features/ -m repo --repo ~/src/widget --buildgate-features examples/features
@repo @X1
Feature: Release tags publish versioned images
  Pushing a release tag vX.Y.Z must publish every image of the target under its version and
  under the full commit, and the changelog must say what the release holds.

  Scenario: A release tag pushes every image
    Then every image is pushed on "push of tag v1.4.2"

  Scenario: A release tag tags every image with its version and its commit
    Then a push of the tag "v1.4.2" tags every image with "1.4.2"
    And a push of the tag "v1.4.2" tags every image with "sha-{sha}"

  Scenario: The changelog has a section for the release the repository is at
    Then the changelog has a section for the latest release tag
