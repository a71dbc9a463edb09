/* subcommands.h: one entry function per `incident` subcommand, each in its own file. */
#ifndef TBSC_SUBCOMMANDS_H
#define TBSC_SUBCOMMANDS_H

int keygen_main(int argc, char **argv);
int report_main(int argc, char **argv);
int status_main(int argc, char **argv);
int registry_main(int argc, char **argv);
int audit_main(int argc, char **argv);
int verify_main(int argc, char **argv);
int open_main(int argc, char **argv);
int serve_main(int argc, char **argv);

int ack_main(int argc, char **argv);
int summary_main(int argc, char **argv);

int drill_main(int argc, char **argv);
int drill_report_main(int argc, char **argv);

#endif
