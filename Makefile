# Builds every C part into build/. Each part has its own Makefile; this one
# only orders them. `npm install` runs it through the "prepare" script.
PARTS := $(patsubst %/Makefile,%,$(wildcard preload/Makefile preload/api/Makefile launcher/c/Makefile supervisor/peercred/Makefile supervisor/reaper/Makefile native/Makefile))

.PHONY: all clean $(PARTS)
all: $(PARTS)
$(PARTS):
	@$(MAKE) -s -C $@
clean:
	rm -rf build

# `make install` (after `npm install`): a copy of the built tree in
# $(PREFIX)/lib/durun, `durun` on PATH in $(PREFIX)/bin, its man page and bash
# completion. PREFIX defaults to /usr/local for root, ~/.local otherwise (both
# on a login shell's PATH on Debian). The copy is swapped in whole, so a
# failed install leaves the previous one as it was.
ifeq ($(PREFIX),)
PREFIX := $(if $(filter 0,$(shell id -u)),/usr/local,$(HOME)/.local)
endif
DEST := $(DESTDIR)$(PREFIX)
.PHONY: install uninstall
install: all
	@test -f dist/launcher/src/cli.js && test -d node_modules/execa || { echo "make install: run npm install first (it builds dist/ and fetches the runtime packages)" >&2; exit 1; }
	rm -rf $(DEST)/lib/durun.new && mkdir -p $(DEST)/lib/durun.new $(DEST)/bin
	cp -a build dist node_modules package.json $(DEST)/lib/durun.new/
	rm -rf $(DEST)/lib/durun.old && if [ -e $(DEST)/lib/durun ]; then mv $(DEST)/lib/durun $(DEST)/lib/durun.old; fi
	mv $(DEST)/lib/durun.new $(DEST)/lib/durun && rm -rf $(DEST)/lib/durun.old
	ln -sfn ../lib/durun/build/durun $(DEST)/bin/durun
	install -D -m 0644 docs/durun.1 $(DEST)/share/man/man1/durun.1
	install -D -m 0644 scripts/durun.bash-completion $(DEST)/share/bash-completion/completions/durun
	@echo "durun installed: $(DEST)/bin/durun (man durun; bash completion in new shells)"
uninstall:
	rm -rf $(DEST)/lib/durun $(DEST)/bin/durun $(DEST)/share/man/man1/durun.1 $(DEST)/share/bash-completion/completions/durun
