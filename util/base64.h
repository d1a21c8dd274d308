/* base64.h - the standard base64 alphabet (RFC 4648 section 4). */
#ifndef RV_BASE64_H
#define RV_BASE64_H

/* The 6-bit value of base64 character c; -1 for any other character,
 * the padding '=' too. */
int rv_b64_value(int c);

#endif
