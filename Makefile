# gridnet.tenant: set-up, tests, lab and benchmarks.
# Every target sets up what it needs (Debian packages as root, a pinned
# virtualenv in .venv, the collection linked under .build/collections).

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
COLLECTIONS := $(CURDIR)/.build/collections
LINK := $(COLLECTIONS)/ansible_collections/gridnet/tenant
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export PYTHONPATH := $(COLLECTIONS)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
# Ansible's own files (temporary files, SSH control sockets, molecule's state) stay in this checkout:
# nothing a target runs writes under ~/.ansible, where a later plain ansible-playbook would find it
export ANSIBLE_HOME := $(CURDIR)/.build/ansible-home
# openssh-server: the lab's nodes over real SSH; qemu and busybox-static: the kernel layer's guest; iperf3: the data-plane benchmark; prometheus-node-exporter: the health view scraped as Prometheus does; qrencode: access peers' QR codes
APT_PACKAGES := wireguard-go wireguard-tools nftables iptables iproute2 iputils-ping babeld python3-venv util-linux procps iperf3 \
	openssh-server openssh-client qemu-system-x86 qemu-utils busybox-static etcd-server etcd-client mmdebstrap e2fsprogs prometheus-node-exporter qrencode
APT_COMMANDS := wireguard-go wg nft iptables-nft ip ping babeld unshare nsenter pgrep iperf3 /usr/sbin/sshd ssh qemu-system-x86_64 qemu-img busybox etcd etcdctl mmdebstrap mkfs.ext4 prometheus-node-exporter qrencode wg-quick

.PHONY: help setup test unit netns playbooks kernel farm collection lint bench plan clean lab lab-down molecule molecule-farm

help:
	@echo "make lab     set everything up, build the lab, render the tenant networks, print the matrix"
	@echo "make lab-down  tear the lab down (every node, process and file it made)"
	@echo "make test    set everything up and run the whole test suite"
	@echo "make unit    pure-logic tests (no root)"
	@echo "make netns   tests that build real network namespaces (root)"
	@echo "make kernel  the kernel WireGuard back end, in Debian's kernel under QEMU (root)"
	@echo "make farm    a farm of real Debian 12 machines under QEMU (systemd, SSH, Docker) (root)"
	@echo "make lint    ansible-lint --profile production and ansible-test sanity"
	@echo "make bench   benchmarks, printing their figures"

setup: .build/apt.stamp $(VENV)/.stamp $(LINK)

.build/apt.stamp:
	@mkdir -p .build
	@missing=""; for c in $(APT_COMMANDS); do command -v $$c >/dev/null || missing="$$missing $$c"; done; \
	$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages (missing:$$missing)"; \
	  if [ "$$(id -u)" != 0 ]; then echo "run as root to install: $(APT_PACKAGES)" >&2; exit 1; fi; \
	  policy=/usr/sbin/policy-rc.d; made=""; \
	  if [ ! -e $$policy ]; then printf '#!/bin/sh\nexit 101\n' > $$policy; chmod +x $$policy; made=1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(APT_PACKAGES) >/dev/null; \
	  status=$$?; [ -z "$$made" ] || rm -f $$policy; [ $$status = 0 ]; \
	fi
	@touch $@

$(VENV)/.stamp: requirements/test.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements/test.txt
	@touch $@

$(LINK):
	@mkdir -p $(dir $(LINK))
	@ln -sfn $(CURDIR) $(LINK)

test: setup
	$(BIN)/pytest -q $(wildcard tests/unit tests/netns tests/playbooks tests/lab tests/kernel tests/farm)
	$(MAKE) --no-print-directory collection
	$(MAKE) --no-print-directory lint

# ansible-lint (.ansible-lint says what it skips and why) and ansible-test sanity, offline
# (tests/support/sanity.py: the collection copied under ansible_collections/, pip bootstrapped locally).
lint: setup
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/ansible-lint -q
	$(BIN)/python tests/support/sanity.py

unit: setup
	$(BIN)/pytest -q tests/unit

netns: setup
	$(BIN)/pytest -q tests/netns

playbooks: setup
	$(BIN)/pytest -q tests/playbooks

# The kernel WireGuard back end, inside Debian's kernel under QEMU (tests/kernel/vm.py).
kernel: setup
	$(BIN)/pytest -q -s tests/kernel

# Three Debian 12 machines under QEMU, built with mmdebstrap and cached in .build/farm (tests/farm/vmfarm.py).
farm: setup
	$(BIN)/pytest -q -s tests/farm

# Build the collection tarball, install it into a scratch path and use it by FQCN.
collection: setup
	@rm -rf .build/dist .build/installed && mkdir -p .build/dist .build/installed
	$(BIN)/ansible-galaxy collection build --output-path .build/dist . >/dev/null
	ANSIBLE_COLLECTIONS_PATH=$(CURDIR)/.build/installed $(BIN)/ansible-galaxy collection install --offline --force -p .build/installed .build/dist/gridnet-tenant-*.tar.gz >/dev/null
	ANSIBLE_COLLECTIONS_PATH=$(CURDIR)/.build/installed PYTHONPATH= $(BIN)/ansible localhost -c local -i localhost, \
	  -m ansible.builtin.assert -a "that=\"'2001:db8::/48' | gridnet.tenant.carve(64, ['a']) | length == 1\"" | grep -q SUCCESS
	@echo "collection: built, installed and usable by FQCN"

bench: setup
	$(BIN)/python benchmarks/plan_benchmark.py
	$(BIN)/python benchmarks/plan_scaling_benchmark.py
	$(BIN)/python benchmarks/converge_benchmark.py
	$(BIN)/python benchmarks/dataplane_benchmark.py
	$(BIN)/python benchmarks/health_benchmark.py
	$(BIN)/python benchmarks/scale_benchmark.py

clean:
	rm -rf .build .pytest_cache .hypothesis

LAB ?= $(CURDIR)/.build/lab
# how the lab directory is shown: relative to this checkout when inside it
LAB_SHOWN = $(patsubst $(CURDIR)/%,%,$(LAB))
# The lab's ledger is vault-encrypted with this lab-only password.
PLAYBOOK := GRIDNET_LAB_DIR=$(LAB) ANSIBLE_VAULT_PASSWORD_FILE=$(CURDIR)/playbooks/lab/vault-password $(BIN)/ansible-playbook

# The main job on the built-in lab: build it, render every tenant network, verify with packets.
lab: setup
	$(PLAYBOOK) playbooks/lab/up.yml
	$(PLAYBOOK) -i $(LAB)/inventory playbooks/site.yml
	$(PLAYBOOK) -i $(LAB)/inventory playbooks/verify.yml -e gridnet_tenant_verify_report_dir=$(LAB) || { cat $(LAB)/matrix.txt 2>/dev/null; exit 1; }
	@echo; echo "What was built:"; cat $(LAB)/built.txt
	@echo; cat $(LAB)/matrix.txt
	@$(PLAYBOOK) -i $(LAB)/inventory playbooks/ledger.yml -e gridnet_tenant_ledger_report=$(LAB)/ledger.txt >/dev/null
	@echo; echo "The allocation ledger (vault-encrypted in $(LAB_SHOWN)/inventory/group_vars/all):"; cat $(LAB)/ledger.txt
	@echo; echo "Picture of the mesh: $(LAB_SHOWN)/mesh.svg    Tear the lab down: make lab-down"

lab-down: setup
	$(PLAYBOOK) playbooks/lab/down.yml

molecule: setup
	PATH=$(CURDIR)/$(BIN):$$PATH ANSIBLE_VAULT_PASSWORD_FILE=$(CURDIR)/playbooks/lab/vault-password $(BIN)/molecule test

# The farm scenario: create boots the three guests, converge and verify run over SSH, destroy removes them.
molecule-farm: setup
	PATH=$(CURDIR)/$(BIN):$$PATH GRIDNET_FARM_DIR=$(CURDIR)/.build/molecule-farm $(BIN)/molecule test -s farm

plan: setup
	$(BIN)/ansible-playbook -i docs/examples/inventory playbooks/plan.yml
