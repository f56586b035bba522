/* controld_libvirt.h: lego-controld's libvirt remote-protocol server. */
#ifndef LEGO_CONTROLD_LIBVIRT_H
#define LEGO_CONTROLD_LIBVIRT_H

/* Serve one accepted client connection on a thread of its own (fd is taken over). */
void libvirt_serve_fd(int fd);

#endif
