# Builds every C part into build/. Each part has its own Makefile; this one
# only orders them. `npm install` runs it through the "prepare" script.
PARTS := $(patsubst %/Makefile,%,$(wildcard preload/Makefile launcher/c/Makefile supervisor/peercred/Makefile supervisor/reaper/Makefile native/Makefile))

.PHONY: all clean $(PARTS)
all: $(PARTS)
$(PARTS):
	@$(MAKE) -s -C $@
clean:
	rm -rf build
