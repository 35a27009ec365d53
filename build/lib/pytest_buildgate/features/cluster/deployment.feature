Feature: The cluster runs what the kustomization names
  The chain: commit -> tag -> registry digest -> kustomization newTag -> Argo CD revision -> the
  pod's imageID. The cluster is read only (get, list, watch); waits use the target's
  cluster.wait budgets.

  @cluster @K5
  Scenario: The Deployments run the kustomization's images at the registry's digests
    Given the Deployments the kustomization renders
    Then each Deployment's containers use the kustomization's images
    And each rollout completes within the rollout budget
    And each Deployment's pods run the registry digest of their tag

  @cluster @K6
  Scenario: Argo CD has synced the kustomization change
    Then the Argo CD Application is Synced and Healthy at a revision containing the kustomization commit
