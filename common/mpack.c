/* mpack.c: a bounds pre-check for msgpack bytes and strict typed accessors. */
#include "mpack.h"

#include "util.h"

#include <string.h>
#include <utf8proc.h>

bool utf8_valid(const uint8_t *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		utf8proc_int32_t cp;
		utf8proc_ssize_t n = utf8proc_iterate(s + i, (utf8proc_ssize_t)(len - i), &cp);
		if (n <= 0)
			return false;
		i += (size_t)n;
	}
	return true;
}

struct cursor {
	const uint8_t *p;
	size_t left;
};

static int take(struct cursor *c, size_t n, const uint8_t **out)
{
	if (n > c->left)
		return -1;
	*out = c->p;
	c->p += n;
	c->left -= n;
	return 0;
}

static uint64_t be(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static int check_value(struct cursor *c, unsigned depth, unsigned max_depth, char *err,
                       size_t errlen)
{
	const uint8_t *h, *b;
	if (take(c, 1, &h) != 0)
		return seterr(err, errlen, "msgpack bị cắt cụt / truncated msgpack");
	uint8_t t = h[0];
	uint64_t count = 0, len = 0;
	int kind = 0; /* 1 str, 2 bin, 3 array, 4 map */
	size_t lenbytes = 0;

	if (t <= 0x7f || t >= 0xe0 || t == 0xc0 || t == 0xc2 || t == 0xc3)
		return 0;
	if ((t & 0xe0) == 0xa0) {
		kind = 1;
		len = t & 0x1f;
	} else if ((t & 0xf0) == 0x90) {
		kind = 3;
		count = t & 0x0f;
	} else if ((t & 0xf0) == 0x80) {
		kind = 4;
		count = t & 0x0f;
	} else {
		switch (t) {
		case 0xcc:
		case 0xd0:
			lenbytes = 1;
			break;
		case 0xcd:
		case 0xd1:
			lenbytes = 2;
			break;
		case 0xce:
		case 0xd2:
			lenbytes = 4;
			break;
		case 0xcf:
		case 0xd3:
			lenbytes = 8;
			break;
		case 0xd9:
			kind = 1;
			lenbytes = 1;
			break;
		case 0xda:
			kind = 1;
			lenbytes = 2;
			break;
		case 0xdb:
			kind = 1;
			lenbytes = 4;
			break;
		case 0xc4:
			kind = 2;
			lenbytes = 1;
			break;
		case 0xc5:
			kind = 2;
			lenbytes = 2;
			break;
		case 0xc6:
			kind = 2;
			lenbytes = 4;
			break;
		case 0xdc:
			kind = 3;
			lenbytes = 2;
			break;
		case 0xdd:
			kind = 3;
			lenbytes = 4;
			break;
		case 0xde:
			kind = 4;
			lenbytes = 2;
			break;
		case 0xdf:
			kind = 4;
			lenbytes = 4;
			break;
		case 0xca:
		case 0xcb:
			return seterr(err, errlen,
			              "không chấp nhận số thực / floats are not allowed");
		default:
			return seterr(
			    err, errlen,
			    "kiểu msgpack không được phép (0x%02x) / msgpack type not allowed", t);
		}
		if (take(c, lenbytes, &b) != 0)
			return seterr(err, errlen, "msgpack bị cắt cụt / truncated msgpack");
		if (kind == 0)
			return 0; /* integer payload consumed */
		if (kind == 3 || kind == 4)
			count = be(b, lenbytes);
		else
			len = be(b, lenbytes);
	}
	if (kind == 1 || kind == 2) {
		if (len > c->left)
			return seterr(err, errlen,
			              "độ dài %llu vượt quá dữ liệu còn lại (%zu byte) / length "
			              "exceeds the remaining %zu bytes",
			              (unsigned long long)len, c->left, c->left);
		if (take(c, (size_t)len, &b) != 0)
			return seterr(err, errlen, "msgpack bị cắt cụt / truncated msgpack");
		if (kind == 1 && !utf8_valid(b, (size_t)len))
			return seterr(err, errlen,
			              "chuỗi không phải UTF-8 hợp lệ / string is not valid UTF-8");
		return 0;
	}
	if (depth + 1 > max_depth)
		return seterr(err, errlen, "lồng quá sâu (tối đa %u) / nesting deeper than %u",
		              max_depth, max_depth);
	uint64_t items = kind == 4 ? count * 2 : count;
	if (items > c->left)
		return seterr(err, errlen,
		              "số phần tử %llu vượt quá dữ liệu còn lại / element count exceeds "
		              "the remaining bytes",
		              (unsigned long long)count);
	for (uint64_t i = 0; i < items; i++)
		if (check_value(c, depth + 1, max_depth, err, errlen) != 0)
			return -1;
	return 0;
}

int mpack_check(const uint8_t *buf, size_t len, unsigned max_depth, char *err, size_t errlen)
{
	struct cursor c = {buf, len};
	if (len == 0)
		return seterr(err, errlen, "dữ liệu rỗng / empty input");
	if (check_value(&c, 0, max_depth, err, errlen) != 0)
		return -1;
	if (c.left != 0)
		return seterr(
		    err, errlen,
		    "còn %zu byte thừa sau đối tượng / %zu trailing bytes after the object", c.left,
		    c.left);
	return 0;
}

int mpack_decode(const uint8_t *buf, size_t len, unsigned max_depth, msgpack_zone *zone,
                 msgpack_object *out, char *err, size_t errlen)
{
	if (mpack_check(buf, len, max_depth, err, errlen) != 0)
		return -1;
	size_t off = 0;
	msgpack_unpack_return r = msgpack_unpack((const char *)buf, len, &off, zone, out);
	if (r != MSGPACK_UNPACK_SUCCESS || off != len)
		return seterr(err, errlen, "msgpack không hợp lệ / malformed msgpack (%d)", (int)r);
	return 0;
}

static bool key_is(const msgpack_object *k, const char *s)
{
	size_t n = strlen(s);
	return k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
	       memcmp(k->via.str.ptr, s, n) == 0;
}

int mpack_map_check(const msgpack_object *map, const char *const *allowed, const char *what,
                    char *err, size_t errlen)
{
	if (map->type != MSGPACK_OBJECT_MAP)
		return seterr(err, errlen, "%s: phải là map / must be a map", what);
	const msgpack_object_map *m = &map->via.map;
	for (uint32_t i = 0; i < m->size; i++) {
		const msgpack_object *k = &m->ptr[i].key;
		if (k->type != MSGPACK_OBJECT_STR)
			return seterr(err, errlen, "%s: khóa phải là chuỗi / keys must be strings",
			              what);
		bool known = false;
		for (const char *const *a = allowed; *a != NULL; a++)
			if (key_is(k, *a)) {
				known = true;
				break;
			}
		if (!known)
			return seterr(err, errlen, "%s: trường không biết \"%.*s\" / unknown field",
			              what, (int)(k->via.str.size > 40 ? 40 : k->via.str.size),
			              k->via.str.ptr);
		for (uint32_t j = 0; j < i; j++)
			if (m->ptr[j].key.via.str.size == k->via.str.size &&
			    memcmp(m->ptr[j].key.via.str.ptr, k->via.str.ptr, k->via.str.size) == 0)
				return seterr(err, errlen,
				              "%s: trường lặp lại \"%.*s\" / duplicate field", what,
				              (int)(k->via.str.size > 40 ? 40 : k->via.str.size),
				              k->via.str.ptr);
	}
	return 0;
}

const msgpack_object *mpack_map_get(const msgpack_object *map, const char *key)
{
	if (map->type != MSGPACK_OBJECT_MAP)
		return NULL;
	for (uint32_t i = 0; i < map->via.map.size; i++)
		if (key_is(&map->via.map.ptr[i].key, key))
			return &map->via.map.ptr[i].val;
	return NULL;
}

static int missing(const char *key, char *err, size_t errlen)
{
	return seterr(err, errlen, "%s: thiếu trường bắt buộc / required field missing", key);
}

int mpack_get_str(const msgpack_object *map, const char *key, bool required, size_t maxlen,
                  char **out, char *err, size_t errlen)
{
	const msgpack_object *v = mpack_map_get(map, key);
	*out = NULL;
	if (v == NULL)
		return required ? missing(key, err, errlen) : 0;
	if (v->type != MSGPACK_OBJECT_STR)
		return seterr(err, errlen, "%s: phải là chuỗi / must be a string", key);
	if (v->via.str.size > maxlen)
		return seterr(err, errlen, "%s: dài quá %zu byte / longer than %zu bytes", key,
		              maxlen, maxlen);
	if (memchr(v->via.str.ptr, '\0', v->via.str.size) != NULL)
		return seterr(err, errlen, "%s: chứa ký tự NUL / contains NUL", key);
	char *s = xmalloc(v->via.str.size + 1);
	memcpy(s, v->via.str.ptr, v->via.str.size);
	s[v->via.str.size] = '\0';
	*out = s;
	return 0;
}

int mpack_get_bin(const msgpack_object *map, const char *key, size_t exact, uint8_t *out, char *err,
                  size_t errlen)
{
	const msgpack_object *v = mpack_map_get(map, key);
	if (v == NULL)
		return missing(key, err, errlen);
	if (v->type != MSGPACK_OBJECT_BIN)
		return seterr(err, errlen, "%s: phải là bin / must be bin", key);
	if (v->via.bin.size != exact)
		return seterr(err, errlen, "%s: phải dài đúng %zu byte / must be exactly %zu bytes",
		              key, exact, exact);
	memcpy(out, v->via.bin.ptr, exact);
	return 0;
}

int mpack_get_bin_var(const msgpack_object *map, const char *key, size_t maxlen,
                      const uint8_t **out, size_t *outlen, char *err, size_t errlen)
{
	const msgpack_object *v = mpack_map_get(map, key);
	if (v == NULL)
		return missing(key, err, errlen);
	if (v->type != MSGPACK_OBJECT_BIN)
		return seterr(err, errlen, "%s: phải là bin / must be bin", key);
	if (v->via.bin.size > maxlen)
		return seterr(err, errlen, "%s: dài quá %zu byte / longer than %zu bytes", key,
		              maxlen, maxlen);
	*out = (const uint8_t *)v->via.bin.ptr;
	*outlen = v->via.bin.size;
	return 0;
}

int mpack_get_uint(const msgpack_object *map, const char *key, bool required, uint64_t max,
                   uint64_t *out, char *err, size_t errlen)
{
	const msgpack_object *v = mpack_map_get(map, key);
	if (v == NULL)
		return required ? missing(key, err, errlen) : 0;
	if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return seterr(err, errlen,
		              "%s: phải là số nguyên không âm / must be a non-negative integer",
		              key);
	if (v->via.u64 > max)
		return seterr(err, errlen, "%s: lớn hơn %llu / larger than %llu", key,
		              (unsigned long long)max, (unsigned long long)max);
	*out = v->via.u64;
	return 0;
}

int mpack_get_bool(const msgpack_object *map, const char *key, bool required, bool *out, char *err,
                   size_t errlen)
{
	const msgpack_object *v = mpack_map_get(map, key);
	if (v == NULL)
		return required ? missing(key, err, errlen) : 0;
	if (v->type != MSGPACK_OBJECT_BOOLEAN)
		return seterr(err, errlen, "%s: phải là true/false / must be a boolean", key);
	*out = v->via.boolean;
	return 0;
}

void mpack_pack_str(msgpack_packer *pk, const char *s)
{
	size_t n = strlen(s);
	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, s, n);
}

void mpack_pack_bin(msgpack_packer *pk, const uint8_t *b, size_t n)
{
	msgpack_pack_bin(pk, n);
	msgpack_pack_bin_body(pk, b, n);
}
