# The kleff tenant operator image: deps cached at build time, non-root,
# read-only at run time, Deno permissions narrowed to what the operator uses.
# For reproducible builds pin the base by digest too:
#   FROM denoland/deno:2.9.6@sha256:<digest from `docker buildx imagetools inspect`>
FROM denoland/deno:2.9.6

WORKDIR /app
# The base image sets DENO_DIR=/deno-dir. At run time the root filesystem is
# read-only: Deno then keeps its SQLite caches (dependency analysis, V8 code
# cache) in memory and writes nothing; everything it loads was cached here.
# WORKDIR must stay /app: the transpiled-module cache is keyed by absolute path.
# glibc malloc: one arena for all of Deno's threads, so that what V8's
# background threads allocate during a start-up does not stay resident in
# arenas of their own; the trim threshold at its default, which stops glibc
# from raising its mmap threshold after each large buffer freed (large
# transient buffers then go back to the system). See the README's benchmarks.
ENV DENO_NO_UPDATE_CHECK=1 \
    DENO_USE_CGROUPS=1 \
    HOME=/home/deno \
    MALLOC_ARENA_MAX=1 \
    MALLOC_TRIM_THRESHOLD_=131072

# The operator only: mod.ts, lib/ and the root config. `deno cache` installs
# every npm package of deno.lock (Deno fetches the lockfile's whole npm
# snapshot), so deno.lock pins only what mod.ts imports; test-only packages
# live in tools/node_client/ with a lockfile of their own, outside this build
# context. tests/e2e/deploy/image_test.ts checks this with `deno info`.
COPY deno.json deno.lock ./
COPY mod.ts ./
COPY lib/ ./lib/
RUN deno cache --frozen mod.ts

# uid 1993, the "deno" user of the official image (runAsUser in deploy/).
USER deno

# --cached-only --frozen: never download, never rewrite deno.lock.
# --allow-net: the API server (its address comes from KUBERNETES_SERVICE_HOST
#   or a kubeconfig at run time, so it cannot be listed at build time) and the
#   operator's own listeners (--metrics-bind-address, --health-probe-bind-address).
# --allow-read: the service account token, CA and namespace; /etc/kleff for a
#   mounted plan catalogue; /home/deno/.kube because the client looks for
#   ~/.kube/config (absent here) before falling back to in-cluster config.
#   Deno reads its own module cache without needing this permission.
# --allow-env: only the variables the operator and its yaml library read.
# --allow-sys=hostname: the leader-election identity when POD_NAME is unset.
# --v8-flags: young-generation semi-spaces of up to 4 MiB, so that a reconcile's
#   garbage dies young, and an old generation grown by a tenth at a time, so that
#   start-up garbage is collected rather than kept (see the README's benchmarks).
# Not granted: --allow-write, --allow-run (no exec credential plugins in a
#   cluster), --allow-ffi, and never the allow-everything flag.
ENTRYPOINT ["deno", "run", "--cached-only", "--frozen", \
  "--allow-net", \
  "--allow-read=/var/run/secrets/kubernetes.io/serviceaccount,/etc/kleff,/home/deno/.kube", \
  "--allow-env=KUBERNETES_SERVICE_HOST,KUBERNETES_SERVICE_PORT,KUBECONFIG,HOME,POD_NAME,POD_NAMESPACE,LOG_TOKENS,LOG_STREAM", \
  "--allow-sys=hostname", \
  "--v8-flags=--max-semi-space-size=4,--heap-growing-percent=10", \
  "mod.ts"]
