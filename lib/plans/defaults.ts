// The built-in plan catalogue (free, basic, pro): what a small web-hosting PaaS could ship, used
// when neither --plans nor --plans-configmap is given. Kept as YAML: it is also the format's example.

/** The built-in catalogue, in the catalogue's own YAML format. */
export const BUILTIN_CATALOGUE_YAML =
  `# kleff plan catalogue: plan name -> what a tenant on that plan gets.
# Every plan keeps the mesh defaults: mesh: { mtls: STRICT, egressHosts: [] } (PeerAuthentication
# kleff-mtls STRICT; Sidecar kleff-egress importing only the tenant's and the platform's namespaces).
plans:
  free:
    description: Hobby projects, one small app, images from the platform registry and Docker Hub library.
    podSecurity: restricted
    resourceQuota:
      pods: "4"
      requests.cpu: 250m
      requests.memory: 256Mi
      limits.cpu: 500m
      limits.memory: 512Mi
      persistentvolumeclaims: "1"
      requests.storage: 1Gi
      services.loadbalancers: "0"
      services.nodeports: "0"
    limitRange:
      container:
        defaultRequest: { cpu: 50m, memory: 64Mi }
        default: { cpu: 250m, memory: 256Mi }
        max: { cpu: 500m, memory: 512Mi }
      persistentVolumeClaim:
        max: { storage: 1Gi }
    allowedRegistries: [registry.kleff.io/, docker.io/library/]
    network:
      https: false
  basic:
    description: Small production sites, HTTPS, public registries.
    podSecurity: baseline
    resourceQuota:
      pods: "20"
      requests.cpu: "1"
      requests.memory: 2Gi
      limits.cpu: "2"
      limits.memory: 4Gi
      persistentvolumeclaims: "5"
      requests.storage: 20Gi
      services.loadbalancers: "0"
      services.nodeports: "0"
    limitRange:
      container:
        defaultRequest: { cpu: 100m, memory: 128Mi }
        default: { cpu: 500m, memory: 512Mi }
        max: { cpu: "1", memory: 2Gi }
      persistentVolumeClaim:
        max: { storage: 10Gi }
    allowedRegistries: [registry.kleff.io/, docker.io/, ghcr.io/, quay.io/]
    network:
      https: true
  pro:
    description: Business sites, larger quota, images from any registry.
    podSecurity: baseline
    resourceQuota:
      pods: "100"
      requests.cpu: "8"
      requests.memory: 16Gi
      limits.cpu: "16"
      limits.memory: 32Gi
      persistentvolumeclaims: "20"
      requests.storage: 200Gi
      services.loadbalancers: "0"
      services.nodeports: "0"
    limitRange:
      container:
        defaultRequest: { cpu: 100m, memory: 128Mi }
        default: { cpu: "1", memory: 1Gi }
        max: { cpu: "4", memory: 8Gi }
      persistentVolumeClaim:
        max: { storage: 100Gi }
    network:
      https: true
`;
