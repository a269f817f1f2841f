/* A stand-in CRIU plugin for gpucr's integration tests: it only announces itself.
 *
 * Built once per name (STANDIN_NAME, e.g. "amdgpu_plugin" or "cuda_plugin") into
 * STANDIN_NAME.so. CRIU loads every *.so of its plugin directory (--libdir), looks up the
 * exported descriptor `CR_PLUGIN_DESC`, checks its version and hook count, calls init(stage)
 * and logs at -v4 'Plugin "NAME" (version V hooks N)'. This stand-in registers no hooks, so it
 * changes nothing criu does; its init also logs "gpucr stand-in plugin NAME: init stage S" and,
 * on restore, takes its name off the inventory's list of required plugins as a real plugin
 * would. The descriptor layout below is written from CRIU's criu-plugin.h (plugin ABI 0.2):
 *   const char *name; int (*init)(int); void (*exit)(int, int); unsigned version;
 *   unsigned max_hooks; void *hooks[];
 * max_hooks = 0 keeps it valid for every CRIU whose hook table is at least that long.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#ifndef STANDIN_NAME
#error "build with -DSTANDIN_NAME=\"name_plugin\""
#endif

enum { kStageRestore = 2, kHookSlots = 16 };

struct standin_desc {
	const char *name;
	int (*init)(int stage);
	void (*exit)(int stage, int ret);
	unsigned int version;
	unsigned int max_hooks;
	void *hooks[kHookSlots];
};

typedef void (*print_fn)(unsigned int level, const char *fmt, ...);
typedef bool (*inventory_fn)(const char *name, size_t n);

static void say(const char *what, int stage)
{
	/* criu exports its logger to plugins; fall back to stderr (criu's log) without it. */
	print_fn print = (print_fn)dlsym(RTLD_DEFAULT, "print_on_level");
	if (print)
		print(3 /* LOG_INFO */, "gpucr stand-in plugin %s: %s stage %d\n", STANDIN_NAME, what, stage);
	else
		fprintf(stderr, "gpucr stand-in plugin %s: %s stage %d\n", STANDIN_NAME, what, stage);
}

static int standin_init(int stage)
{
	say("init", stage);
	if (stage == kStageRestore) {
		inventory_fn take = (inventory_fn)dlsym(RTLD_DEFAULT, "check_and_remove_inventory_plugin");
		if (take)
			take(STANDIN_NAME, strlen(STANDIN_NAME));
	}
	return 0;
}

static void standin_exit(int stage, int ret)
{
	(void)ret;
	say("exit", stage);
}

__attribute__((visibility("default"))) struct standin_desc CR_PLUGIN_DESC = {
	.name = STANDIN_NAME,
	.init = standin_init,
	.exit = standin_exit,
	.version = (0 << 16) + (2 << 8) + 0,
	.max_hooks = 0,
};
