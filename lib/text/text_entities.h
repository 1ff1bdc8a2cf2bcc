/* text_entities.h - private to lib/text/text.c: the HTML5 named character
 * references (generated table, see tools/gen/gen_text_data.py). */
#ifndef TL_TEXT_ENTITIES_H
#define TL_TEXT_ENTITIES_H
#include <stddef.h>
struct tl_entity {
	const char *name;  /* without '&', with the trailing ';' when it has one */
	const char *value; /* UTF-8 */
};
extern const struct tl_entity tl_entities[];
extern const size_t tl_nentities;
#endif
