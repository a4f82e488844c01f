// SPDX-License-Identifier: MIT
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "profile_set.h"
#include "util/cli.h"

/* The longest name a user profile may have (it names the model's cell
 * directories and matrix rows). */
#define PROFILE_NAME_MAX 48

json_t *profile_to_json(const struct ptlab_profile *p)
{
	json_t *o = json_object();
	size_t n;
	const struct ptlab_profile_key *keys = ptlab_profile_keys(&n);

	for (size_t i = 0; o && i < n; i++) {
		const struct ptlab_profile_key *k = &keys[i];
		unsigned int v = k->type == PROFILE_KEY_STRING ? 0 : ptlab_profile_get(p, k);
		json_t *val = NULL;

		switch (k->type) {
		case PROFILE_KEY_STRING:
			val = json_string(*ptlab_profile_string((struct ptlab_profile *)p, k));
			break;
		case PROFILE_KEY_BOOL:
			val = json_boolean(v);
			break;
		case PROFILE_KEY_ENUM:
			val = json_string(v < k->nvalues ? k->values[v] : "?");
			break;
		case PROFILE_KEY_UINT:
			val = json_integer(v);
			break;
		}
		if (json_object_set_new(o, k->key, val)) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

void profile_describe(const struct ptlab_profile *p, char *buf, size_t len)
{
	size_t n, used = 0;
	const struct ptlab_profile_key *keys = ptlab_profile_keys(&n);

	buf[0] = '\0';
	for (size_t i = 0; i < n && used < len; i++) {
		const struct ptlab_profile_key *k = &keys[i];
		unsigned int v;

		if (k->type == PROFILE_KEY_STRING)
			continue;
		v = ptlab_profile_get(p, k);
		used += (size_t)snprintf(buf + used, len - used, "%s%s ", used ? ", " : "", k->key);
		if (used >= len)
			break;
		if (k->type == PROFILE_KEY_BOOL)
			used += (size_t)snprintf(buf + used, len - used, "%s", v ? "true" : "false");
		else if (k->type == PROFILE_KEY_ENUM)
			used += (size_t)snprintf(buf + used, len - used, "%s",
						 v < k->nvalues ? k->values[v] : "?");
		else
			used += (size_t)snprintf(buf + used, len - used, "%u", v);
	}
}

static const struct ptlab_profile_key *key_find(const char *key)
{
	size_t n;
	const struct ptlab_profile_key *keys = ptlab_profile_keys(&n);

	for (size_t i = 0; i < n; i++)
		if (!strcmp(keys[i].key, key))
			return &keys[i];
	return NULL;
}

static void key_names(char *buf, size_t len)
{
	size_t n, used = 0;
	const struct ptlab_profile_key *keys = ptlab_profile_keys(&n);

	buf[0] = '\0';
	for (size_t i = 0; i < n && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "", keys[i].key);
}

/* Prints "ptlab: FILE: <what>: <value as JSON> (allowed: ...)". */
static bool value_error(const char *path, const char *what, const struct ptlab_profile_key *k,
			const json_t *v)
{
	char msg[PATH_MAX + 160], allowed[512];
	char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

	snprintf(msg, sizeof(msg), "%s: %s %s", path, what, k->key);
	ptlab_profile_key_allowed(k, allowed, sizeof(allowed));
	snprintf(allowed + strlen(allowed), sizeof(allowed) - strlen(allowed), "; %s: %s",
		 k->key, k->meaning);
	cli_error(msg, text ? text : "?", allowed);
	free(text);
	return false;
}

/* Sets @p's property @k from @v; false after printing why not. */
static bool set_key(const char *path, struct ptlab_profile *p, const struct ptlab_profile_key *k,
		    const json_t *v)
{
	switch (k->type) {
	case PROFILE_KEY_STRING:
		if (!json_is_string(v))
			return value_error(path, "not a string:", k, v);
		*ptlab_profile_string(p, k) = json_string_value(v);
		return true;
	case PROFILE_KEY_BOOL:
		if (!json_is_boolean(v))
			return value_error(path, "not true or false:", k, v);
		ptlab_profile_set(p, k, json_is_true(v));
		return true;
	case PROFILE_KEY_UINT:
		if (!json_is_integer(v))
			return value_error(path, "not an integer:", k, v);
		if (json_integer_value(v) < 0 || json_integer_value(v) > (json_int_t)k->max)
			return value_error(path, "out of range:", k, v);
		ptlab_profile_set(p, k, (unsigned int)json_integer_value(v));
		return true;
	case PROFILE_KEY_ENUM:
		if (!json_is_string(v))
			return value_error(path, "not a string:", k, v);
		for (unsigned int i = 0; i < k->nvalues; i++)
			if (!strcmp(json_string_value(v), k->values[i])) {
				ptlab_profile_set(p, k, i);
				return true;
			}
		return value_error(path, "unknown value of", k, v);
	}
	return false;
}

static bool name_valid(const char *name)
{
	size_t len = strlen(name);

	if (!len || len > PROFILE_NAME_MAX || name[0] == '-' || name[0] == '.')
		return false;
	return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") ==
	       len;
}

/* Whether @name is free: a plain word, no built-in profile's, no other
 * file's; false after printing why not. */
static bool name_free(const struct profile_set *s, const char *path, const char *name)
{
	char what[PATH_MAX + 160], allowed[512];

	snprintf(what, sizeof(what), "%s: bad profile name", path);
	if (!name_valid(name)) {
		snprintf(allowed, sizeof(allowed), "1..%d letters, digits, '-', '_' and '.', "
			 "not beginning with '-' or '.'", PROFILE_NAME_MAX);
		cli_error(what, name, allowed);
		return false;
	}
	if (ptlab_profile_find(name)) {
		char names[256];

		ptlab_profile_names(names, sizeof(names));
		snprintf(what, sizeof(what), "%s: name taken by a built-in profile", path);
		snprintf(allowed, sizeof(allowed), "a name other than %s: rename the copy",
			 names);
		cli_error(what, name, allowed);
		return false;
	}
	for (size_t i = 0; i < s->nuser; i++)
		if (!strcmp(s->user[i].name, name)) {
			snprintf(what, sizeof(what), "%s: name taken by another --profile-file",
				 path);
			cli_error(what, name, "one profile per name");
			return false;
		}
	return true;
}

/* Fills @p from the object @o, key by key of the table; false after
 * printing the error. */
static bool profile_from_json(const struct profile_set *s, const char *path, json_t *o,
			      struct ptlab_profile *p)
{
	char what[PATH_MAX + 160], allowed[512];
	size_t n;
	const struct ptlab_profile_key *keys = ptlab_profile_keys(&n);
	const char *key, *bad, *why;
	json_t *v;

	key_names(allowed, sizeof(allowed));
	json_object_foreach(o, key, v) {
		if (key_find(key))
			continue;
		snprintf(what, sizeof(what), "%s: unknown profile key", path);
		if (!strcmp(key, "profiles"))
			strncat(allowed, "; a profile file holds one entry of the \"profiles\" "
					 "array of `ptlab profiles --json`, not the whole document",
				sizeof(allowed) - strlen(allowed) - 1);
		cli_error(what, key, allowed);
		return false;
	}
	memset(p, 0, sizeof(*p));
	for (size_t i = 0; i < n; i++) {
		v = json_object_get(o, keys[i].key);
		if (keys[i].derived)
			continue;
		if (!v) {
			snprintf(what, sizeof(what), "%s: missing profile key", path);
			ptlab_profile_key_allowed(&keys[i], allowed, sizeof(allowed));
			snprintf(allowed + strlen(allowed), sizeof(allowed) - strlen(allowed),
				 "; %s", keys[i].meaning);
			cli_error(what, keys[i].key, allowed);
			return false;
		}
		if (!set_key(path, p, &keys[i], v))
			return false;
	}
	/* A derived key may be left out; given, it must follow from the
	 * others (a copy whose tlb_flush was changed must change it too). */
	for (size_t i = 0; i < n; i++) {
		v = json_object_get(o, keys[i].key);
		if (!keys[i].derived || !v)
			continue;
		if (!json_is_boolean(v))
			return value_error(path, "not true or false:", &keys[i], v);
		if (json_is_true(v) != keys[i].derived(p)) {
			snprintf(what, sizeof(what), "%s: %s does not follow from the other keys",
				 path, keys[i].key);
			snprintf(allowed, sizeof(allowed), "%s, or leave it out; %s",
				 keys[i].derived(p) ? "true" : "false", keys[i].meaning);
			cli_error(what, json_is_true(v) ? "true" : "false", allowed);
			return false;
		}
	}
	if (ptlab_profile_check(p, &bad, &why)) {
		snprintf(what, sizeof(what), "%s: keys that contradict each other", path);
		cli_error(what, bad, why);
		return false;
	}
	return name_free(s, path, p->name);
}

static bool add(struct profile_set *s, const struct ptlab_profile *p)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->list[i] == p)
			return true;
	if (s->n == PROFILE_SET_MAX) {
		cli_error("too many profiles", p->name, "at most 48 in one run");
		return false;
	}
	s->list[s->n++] = p;
	return true;
}

static int add_name(const char *name, void *arg)
{
	const struct ptlab_profile *p = ptlab_profile_find(name);
	char allowed[512];

	if (!p) {
		struct profile_set *s = arg;

		for (size_t i = 0; i < s->nuser; i++)
			if (!strcmp(s->user[i].name, name))
				return add(s, &s->user[i]) ? 0 : CLI_EXIT_USAGE;
		ptlab_profile_names(allowed, sizeof(allowed));
		strncat(allowed, ", or a --profile-file given before",
			sizeof(allowed) - strlen(allowed) - 1);
		return cli_error("unknown profile", name, allowed);
	}
	return add(arg, p) ? 0 : CLI_EXIT_USAGE;
}

bool profile_set_add_names(struct profile_set *s, const char *list)
{
	char allowed[256];

	ptlab_profile_names(allowed, sizeof(allowed));
	return cli_for_each_name(list, allowed, add_name, s) == 0;
}

bool profile_set_add_file(struct profile_set *s, const char *path)
{
	json_error_t err;
	json_t *doc;
	char what[PATH_MAX + 160];

	if (s->nuser == PROFILE_SET_MAX_FILES) {
		cli_error("too many --profile-file", path, "at most 8");
		return false;
	}
	doc = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
	if (!doc) {
		char why[512];

		if (err.line > 0)
			snprintf(why, sizeof(why), "line %d column %d: %s; ", err.line, err.column,
				 err.text);
		else
			snprintf(why, sizeof(why), "%s; ", err.text);
		strncat(why, "allowed: a readable file holding one JSON object, an entry of "
			     "`ptlab profiles --json` (each key once)",
			sizeof(why) - strlen(why) - 1);
		fprintf(stderr, "ptlab: cannot read --profile-file: %s (%s)\n", path, why);
		return false;
	}
	if (!json_is_object(doc)) {
		snprintf(what, sizeof(what), "%s: not a JSON object", path);
		json_decref(doc);
		cli_error(what, "the top-level value",
			  "one object, an entry of the \"profiles\" array of `ptlab profiles --json`");
		return false;
	}
	if (!profile_from_json(s, path, doc, &s->user[s->nuser])) {
		json_decref(doc);
		return false;
	}
	s->doc[s->nuser] = doc;
	return add(s, &s->user[s->nuser++]);
}

bool profile_set_one(struct profile_set *s, bool file, const char *value)
{
	if (s->n) {
		cli_error("one profile only", value, "one --profiles NAME or one --profile-file FILE");
		return false;
	}
	return file ? profile_set_add_file(s, value) : profile_set_add_names(s, value);
}

void profile_set_default(struct profile_set *s)
{
	if (s->n)
		return;
	for (size_t i = 0; i < ptlab_profiles_count() && i < PROFILE_SET_MAX; i++)
		s->list[s->n++] = &ptlab_profiles()[i];
}

void profile_set_release(struct profile_set *s)
{
	for (size_t i = 0; i < s->nuser; i++)
		json_decref(s->doc[i]);
	s->nuser = 0;
	s->n = 0;
}
