/*
 * discover_usb.c: USB printers from sysfs. Each usblp device exposes its IEEE
 * 1284 device id at <sysfs_root>/class/usbmisc/lp* /device/ieee1284_id; the
 * root is configurable so tests can lay out a fake tree. Not here: parsing the
 * device id (ieee1284.c) or merging (discover.c).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "agent/discover_source.h"
#include "agent/ieee1284.h"

#define USB_MAX_DEVICES 64
#define USB_CMDSET_MAX 16		/* command set entries kept in capabilities */

/* Read up to IEEE1284_MAX_LEN bytes of a small sysfs file. */
static ssize_t
usb_read_id(const char *path, char *buf, size_t len)
{
	ssize_t n, got = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0)
		return -1;
	while ((size_t)got < len && (n = read(fd, buf + got, len - (size_t)got)) > 0)
		got += n;
	close(fd);
	return got;
}

/* The device's position on the bus ("1-1.4:1.0"): the name the sysfs device
 * link resolves to, which stays the same while it sits in the same port. */
static void
usb_bus_path(const char *devlink, const char *lpname, char *out, size_t outlen)
{
	char real[PATH_MAX];
	const char *base;

	if (realpath(devlink, real) && (base = strrchr(real, '/')) && base[1] &&
	    strcmp(base + 1, "device") != 0)
		discover_clean_text(base + 1, strlen(base + 1), out, outlen);
	else
		snprintf(out, outlen, "%.32s", lpname);
}

static json_t *
usb_command_sets(const char *cmd)
{
	json_t *arr = json_array();
	char item[IEEE1284_VALUE_MAX];
	const char *p = cmd, *e;

	while (*p && json_array_size(arr) < USB_CMDSET_MAX) {
		e = strchr(p, ',');
		if (!e)
			e = p + strlen(p);
		if (discover_clean_text(p, (size_t)(e - p), item, sizeof(item)) > 0)
			json_array_append_new(arr, json_string(item));
		p = *e ? e + 1 : e;
	}
	return arr;
}

static json_t *
usb_item(const struct discover_ctx *ctx, const struct ieee1284_id *id, const char *bus)
{
	json_t *it = json_object();
	char name[IEEE1284_VALUE_MAX * 2 + 2], key[512];

	if (id->manufacturer[0] && id->model[0])
		snprintf(name, sizeof(name), "%s %s", id->manufacturer, id->model);
	else
		snprintf(name, sizeof(name), "%s", id->model[0] ? id->model :
		    id->description[0] ? id->description : id->manufacturer);
	json_object_set_new(it, "name", json_string(name));
	json_object_set_new(it, "connectionType", json_string("usb"));
	json_object_set_new(it, "protocol", json_string("usb"));
	if (id->manufacturer[0])
		json_object_set_new(it, "manufacturer", json_string(id->manufacturer));
	if (id->model[0])
		json_object_set_new(it, "model", json_string(id->model));
	json_object_set_new(it, "makeAndModel", json_string(name));
	if (id->serial[0])
		json_object_set_new(it, "serialNumber", json_string(id->serial));
	if (id->command_set[0])
		json_object_set_new(it, "capabilities",
		    json_pack("{s:o}", "commandSet", usb_command_sets(id->command_set)));
	/* A serial with a manufacturer gives sn:...; without, the bus position. */
	if (!id->serial[0] || !id->manufacturer[0]) {
		snprintf(key, sizeof(key), "usb:%s:%s", ctx->hostname, bus);
		json_object_set_new(it, "deviceKey", json_string(key));
	}
	return it;
}

static int
usb_is_lp(const struct dirent *de)
{
	return strncmp(de->d_name, "lp", 2) == 0 && strlen(de->d_name) <= 32;
}

int
discover_usb(struct discover_ctx *ctx)
{
	char dir[PATH_MAX], path[PATH_MAX + 64], bus[128], buf[IEEE1284_MAX_LEN];
	struct ieee1284_id id;
	struct dirent **des = NULL;
	ssize_t len;
	int n, count = 0;

	snprintf(dir, sizeof(dir), "%s/class/usbmisc", ctx->cfg->sysfs_root);
	/* Sorted (lp0, lp1, ...) so the output order is stable between passes. */
	if ((n = scandir(dir, &des, usb_is_lp, versionsort)) < 0) {
		if (errno == ENOENT) {
			log_info("[DISCOVERY] usb: no %s (no USB printer class here)", dir);
			return 0;
		}
		log_warn("[DISCOVERY] usb: cannot read %s", dir);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		const char *lp = des[i]->d_name;

		if (count >= USB_MAX_DEVICES) {
			log_warnx("[DISCOVERY] usb: more than %d printers; %s and later skipped",
			    USB_MAX_DEVICES, lp);
			break;
		}
		snprintf(path, sizeof(path), "%s/%.32s/device/ieee1284_id", dir, lp);
		if ((len = usb_read_id(path, buf, sizeof(buf))) < 0) {
			log_warnx("[DISCOVERY] usb: %s has no readable ieee1284_id", lp);
			continue;
		}
		if (ieee1284_parse(buf, (size_t)len, &id) < 0) {
			log_warnx("[DISCOVERY] usb: %s: IEEE 1284 id has no MFG, MDL or DES; "
			    "skipped", lp);
			continue;
		}
		snprintf(path, sizeof(path), "%s/%.32s/device", dir, lp);
		usb_bus_path(path, lp, bus, sizeof(bus));
		if (discover_add(ctx, usb_item(ctx, &id, bus), "usb") == 0)
			count++;
	}
	for (int i = 0; i < n; i++)
		free(des[i]);
	free(des);
	log_debug("[DISCOVERY] usb: %d printer(s)", count);
	return 0;
}
