// Doorbells (docs/architecture.md, "Doorbells"): an EVENT_AVAIL accepted by
// the to-device mailbox arrives as a one-cycle kick. For queue index
// p = dev * NUM_VQS + vq it sets pending bit p (kicks to a set bit coalesce),
// stores the kick's next_offset_wrap word in DB_DATA[p], and pulses the
// counters and the DOORBELL interrupt.
//
// DB_PENDING window: word w reads bits 32w..32w+31 (0 beyond the last queue);
// a write clears the bits written as 1 (a kick in the same cycle wins).
// DB_DATA window: word p reads the data of queue p (0 until
// the queue's first kick); p >= NUM_DEVS * NUM_VQS answers SLVERR and 0.
//
// Timing: the kick and the window requests are registered on entry, so the
// index arithmetic, the register decode and the 1024-bit pending logic sit in
// separate cycles; acks and read data are registered on the way out, so acks
// come two cycles after the request at the earliest (three for DB_DATA).

`default_nettype none

`include "vmsg_assert.svh"

module vmsg_doorbell #(
  parameter int unsigned NUM_DEVS = 8,  // device numbers with doorbells
  parameter int unsigned NUM_VQS  = 4   // virtqueues per device; NUM_DEVS * NUM_VQS <= 1024
) (
  input  wire logic        clk_i,
  input  wire logic        rst_ni,

  // kick from the to-device mailbox (dev and vq already range-checked)
  input  wire logic        kick_valid_i,
  input  wire logic [15:0] kick_dev_i,
  input  wire logic [15:0] kick_vq_i,
  input  wire logic [31:0] kick_data_i,

  // DB_PENDING window (32 words)
  input  wire logic        pend_req_i,
  input  wire logic        pend_we_i,
  input  wire logic [4:0]  pend_word_i,
  input  wire logic [31:0] pend_wdata_i,
  input  wire logic [31:0] pend_wmask_i,
  output      logic        pend_rd_ack_o,
  output      logic [31:0] pend_rdata_o,
  output      logic        pend_wr_ack_o,
  output      logic        pend_err_o,

  // DB_DATA window (1024 words, read-only)
  input  wire logic        data_req_i,
  input  wire logic        data_we_i,
  input  wire logic [9:0]  data_word_i,
  output      logic        data_rd_ack_o,
  output      logic [31:0] data_rdata_o,
  output      logic        data_wr_ack_o,
  output      logic        data_err_o,

  // one-cycle pulses
  output      logic        kicks_o,       // DB_KICKS counter
  output      logic        coalesced_o,   // DB_COALESCED counter
  output      logic        irq_o          // DOORBELL interrupt
);

  localparam int unsigned NUM_P  = NUM_DEVS * NUM_VQS;
  localparam int unsigned P_W    = (NUM_P > 1) ? $clog2(NUM_P) : 1;
  localparam int unsigned RAM_N  = (NUM_P > 1) ? NUM_P : 2;   // vmsg_sdp_ram needs >= 2 words
  localparam int unsigned MAX_P  = 1024;                       // size of both windows

  if (NUM_DEVS < 1 || NUM_VQS < 1 || NUM_P > MAX_P) begin : g_bad_params
    $fatal(1, "vmsg_doorbell: NUM_DEVS %0d * NUM_VQS %0d must be 1..1024", NUM_DEVS, NUM_VQS);
  end

  // Index of the kicked queue.
  logic [31:0]    kick_p32;
  assign kick_p32 = 32'(kick_dev_i) * NUM_VQS + 32'(kick_vq_i);
  logic unused_kick_p;  // the mailbox range check keeps the index below NUM_P
  assign unused_kick_p = ^kick_p32[31:P_W];

  // ---------------------------------------------------------------------------
  // Inputs, registered on entry
  // ---------------------------------------------------------------------------
  logic           kick_valid;
  logic [P_W-1:0] kick_p;
  logic [31:0]    kick_data;
  logic           pend_req, pend_we;
  logic [4:0]     pend_word;
  logic [31:0]    pend_wdata, pend_wmask;
  logic           data_req, data_we;
  logic [9:0]     data_word;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      kick_valid <= 1'b0;
      kick_p     <= '0;
      kick_data  <= '0;
      pend_req   <= 1'b0;
      pend_we    <= 1'b0;
      pend_word  <= '0;
      pend_wdata <= '0;
      pend_wmask <= '0;
      data_req   <= 1'b0;
      data_we    <= 1'b0;
      data_word  <= '0;
    end else begin
      kick_valid <= kick_valid_i;
      kick_p     <= kick_p32[P_W-1:0];
      kick_data  <= kick_data_i;
      pend_req   <= pend_req_i;
      pend_we    <= pend_we_i;
      pend_word  <= pend_word_i;
      pend_wdata <= pend_wdata_i;
      pend_wmask <= pend_wmask_i;
      data_req   <= data_req_i;
      data_we    <= data_we_i;
      data_word  <= data_word_i;
    end
  end

  // ---------------------------------------------------------------------------
  // Pending bits
  // ---------------------------------------------------------------------------
  logic [NUM_P-1:0] pend_q, pend_d, pend_set, pend_clr;
  logic [NUM_P-1:0] seen_q;    // queue p has been kicked since reset (DB_DATA valid)

  always_comb begin
    for (int unsigned p = 0; p < NUM_P; p++) begin
      pend_set[p] = kick_valid && (kick_p == P_W'(p));
      pend_clr[p] = pend_req && pend_we && (32'(pend_word) == p / 32)
                    && pend_wdata[p % 32] && pend_wmask[p % 32];
    end
    pend_d = (pend_q & ~pend_clr) | pend_set;
  end

  // Read: the bitmap padded with zeros to the 1024 bits of the window.
  logic [MAX_P-1:0] pend_ext;
  always_comb begin
    pend_ext = '0;
    pend_ext[NUM_P-1:0] = pend_q;
  end

  // acks and read data are registered on the way out (the register block's ack and read-back
  // logic follows them)
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      pend_rd_ack_o <= 1'b0;
      pend_wr_ack_o <= 1'b0;
      pend_rdata_o  <= '0;
    end else begin
      pend_rd_ack_o <= pend_req && !pend_we;
      pend_wr_ack_o <= pend_req && pend_we;
      pend_rdata_o  <= (pend_req && !pend_we) ? pend_ext[pend_word*32 +: 32] : '0;
    end
  end
  assign pend_err_o = 1'b0;

  // A kick to a bit that stays set coalesces; one whose bit is being cleared
  // in the same cycle is a new notification. The pulses to the counters and the
  // interrupt are registered (the counters' adders follow them).
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      kicks_o     <= 1'b0;
      coalesced_o <= 1'b0;
      irq_o       <= 1'b0;
    end else begin
      kicks_o     <= kick_valid;
      coalesced_o <= kick_valid && |(pend_set & pend_q & ~pend_clr);
      irq_o       <= kick_valid;
    end
  end

  // ---------------------------------------------------------------------------
  // Data RAM
  // ---------------------------------------------------------------------------
  logic        data_rd, data_rd_ok;
  logic        data_pend_q, data_seen_q;
  logic [31:0] ram_rdata;
  assign data_rd    = data_req && !data_we;
  assign data_rd_ok = data_rd && (32'(data_word) < NUM_P);

  vmsg_sdp_ram #(
    .WORDS  (RAM_N),
    .DATA_W (32)
  ) u_ram (
    .clk_i   (clk_i),
    .we_i    (kick_valid),
    .waddr_i (kick_p),
    .wdata_i (kick_data),
    .wbe_i   (4'hF),
    .re_i    (data_rd_ok),
    .raddr_i (data_word[P_W-1:0]),
    .rdata_o (ram_rdata)
  );

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      data_rd_ack_o <= 1'b0;
      data_wr_ack_o <= 1'b0;
      data_err_o    <= 1'b0;
      data_rdata_o  <= '0;
    end else begin
      data_rd_ack_o <= (data_rd && !data_rd_ok) || data_pend_q;
      data_wr_ack_o <= data_req && data_we;             // read-only window
      data_err_o    <= data_req && !data_rd_ok;
      data_rdata_o  <= (data_pend_q && data_seen_q) ? ram_rdata : '0;
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      pend_q      <= '0;
      seen_q      <= '0;
      data_pend_q <= 1'b0;
      data_seen_q <= 1'b0;
    end else begin
      pend_q      <= pend_d;
      seen_q      <= seen_q | pend_set;
      data_pend_q <= data_rd_ok;
      if (data_rd_ok) data_seen_q <= seen_q[data_word[P_W-1:0]];
    end
  end

`ifdef VMSG_ASSERT_ON
  // checks start one clock after reset (see vmsg_assert.svh)
  `VMSG_SVA_EN(clk_i, rst_ni)

  `VMSG_ASSUME(a_kick_range,
      kick_valid_i -> (32'(kick_dev_i) < NUM_DEVS) && (32'(kick_vq_i) < NUM_VQS),
    ("vmsg_doorbell: kick dev %0d vq %0d out of range", kick_dev_i, kick_vq_i))
  // the register block sends one window request at a time, the next after the ack (stated on
  // the registered copies of its requests)
  `VMSG_ASSUME(a_data_ack_pending, data_pend_q -> !data_req && !pend_req,
    ("vmsg_doorbell: request while a DB_DATA read is pending"))
  `VMSG_ASSUME(a_one_req, !(data_req && pend_req),
    ("vmsg_doorbell: two window requests in one cycle"))
  `VMSG_ASSERT(a_kick_sets, $past(kick_valid) -> pend_q[$past(kick_p)],
    ("vmsg_doorbell: kick did not leave its pending bit set"))
`endif

endmodule

`default_nettype wire
