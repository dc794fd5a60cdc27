// vring used-index engine: takes completions {queue, descriptor id, length} from a stream port
// and from firmware (CPL_PUSH), writes split-ring used elements through an AXI4 master in
// merged INCR bursts, publishes used->idx once the B responses of every element before it are
// OKAY, decides used-buffer notifications as the virtio spec says and presents them as EVENT_USED
// requests on evt_*. Behaviour, pipeline and limits: docs/engine.md.
//
// Timing contract at the AXI4 master: every m_axi_* output comes from a flop (two-entry register
// slices on AW, W and AR; BREADY and RREADY are constant 1) and B and R are registered on entry,
// so no input of the port reaches the engine's logic in the cycle it arrives.
//
//   s_cpl ──► ingress ──► pieces ──► burst builder ──► write path ──► AW/W ─► memory ─► B
//   CPL_PUSH ─┘   │ element FIFO (id, len) ─────────────────┘ ▲             │
//                 ▼                                │ idx writes   ▼
//             queues (ctrl) ◄──────────────────────┴──── B events, acked/published state
//                 │ decision read ─► read path ─► AR ─► memory ─► R ─► decision ─► evt

`default_nettype none

module vmsg_used_engine #(
  parameter int unsigned NUM_Q           = 4,    // queues, 1..64
  parameter int unsigned AXI_DATA_W      = 64,   // AXI data width: 32, 64, 128 (..1024)
  parameter int unsigned AXI_ADDR_W      = 32,   // AXI address width, 32..64
  parameter int unsigned AXI_ID_W        = 4,    // AXI ID width
  parameter logic [31:0] AXI_ID          = '0,   // AWID / ARID of every transaction (< 2^AXI_ID_W)
  parameter logic [3:0]  AXI_CACHE       = 4'b0010, // AWCACHE / ARCACHE: normal, non-cacheable, non-bufferable
  parameter logic [2:0]  AXI_PROT        = 3'b000,  // AWPROT / ARPROT: unprivileged, secure, data
  parameter int unsigned MEM_TIMEOUT     = 65536, // reset value of TIMEOUT: cycles without a B / R response, 0 = never, < 2^24
  parameter int unsigned CPL_FIFO_DEPTH  = 8,    // firmware completion FIFO entries, power of two, 2..128
  parameter int unsigned ELEM_FIFO_DEPTH = 64,   // element FIFO entries (id, len); bounds the burst length, power of two
  parameter int unsigned DESC_FIFO_DEPTH = 16,   // closed burst descriptors waiting for the write channel, power of two
  parameter int unsigned WR_OUTSTANDING  = 64,   // write transactions in flight (B pending), power of two; covers ~64 cycles of latency with 1-element bursts
  parameter int unsigned RD_OUTSTANDING  = 8,    // decision reads in flight, power of two
  parameter int unsigned MAX_BURST_BEATS = 256,  // longest element burst in beats, 2..256
  parameter int unsigned IDX_BATCH       = 32,   // waiting elements that trigger a used->idx write at once
  parameter int unsigned IDX_HOLD        = 128,  // cycles an acknowledged element waits for its used->idx write at most (under load), 1..255
  parameter int unsigned META_FIFO_DEPTH = 4,    // accepted elements waiting for the piece stage, power of two
  localparam int unsigned QW = (NUM_Q > 1) ? $clog2(NUM_Q) : 1
) (
  input  wire                      clk_i,
  input  wire                      rst_ni,
  // ENG register block (device port)
  input  wire                      s_reg_req_i,
  input  wire  [12:0]              s_reg_addr_i,
  input  wire                      s_reg_we_i,
  input  wire  [31:0]              s_reg_wdata_i,
  input  wire  [31:0]              s_reg_wmask_i,
  output logic                     s_reg_rd_ack_o,
  output logic [31:0]              s_reg_rdata_o,
  output logic                     s_reg_wr_ack_o,
  output logic                     s_reg_err_o,
  // completion stream
  input  wire                      s_cpl_valid_i,
  output logic                     s_cpl_ready_o,
  input  wire  [QW-1:0]            s_cpl_queue_i,
  input  wire  [31:0]              s_cpl_id_i,
  input  wire  [31:0]              s_cpl_len_i,
  // AXI4 master
  output logic [AXI_ID_W-1:0]      m_axi_awid,
  output logic [AXI_ADDR_W-1:0]    m_axi_awaddr,
  output logic [7:0]               m_axi_awlen,
  output logic [2:0]               m_axi_awsize,
  output logic [1:0]               m_axi_awburst,
  output logic                     m_axi_awlock,
  output logic [3:0]               m_axi_awcache,
  output logic [2:0]               m_axi_awprot,
  output logic                     m_axi_awvalid,
  input  wire                      m_axi_awready,
  output logic [AXI_DATA_W-1:0]    m_axi_wdata,
  output logic [AXI_DATA_W/8-1:0]  m_axi_wstrb,
  output logic                     m_axi_wlast,
  output logic                     m_axi_wvalid,
  input  wire                      m_axi_wready,
  input  wire  [AXI_ID_W-1:0]      m_axi_bid,
  input  wire  [1:0]               m_axi_bresp,
  input  wire                      m_axi_bvalid,
  output logic                     m_axi_bready,
  output logic [AXI_ID_W-1:0]      m_axi_arid,
  output logic [AXI_ADDR_W-1:0]    m_axi_araddr,
  output logic [7:0]               m_axi_arlen,
  output logic [2:0]               m_axi_arsize,
  output logic [1:0]               m_axi_arburst,
  output logic                     m_axi_arlock,
  output logic [3:0]               m_axi_arcache,
  output logic [2:0]               m_axi_arprot,
  output logic                     m_axi_arvalid,
  input  wire                      m_axi_arready,
  input  wire  [AXI_ID_W-1:0]      m_axi_rid,
  input  wire  [AXI_DATA_W-1:0]    m_axi_rdata,
  input  wire  [1:0]               m_axi_rresp,
  input  wire                      m_axi_rlast,
  input  wire                      m_axi_rvalid,
  output logic                     m_axi_rready,
  // EVENT_USED requests to the to-driver mailbox
  output logic                     evt_valid_o,
  input  wire                      evt_ready_i,
  output logic [15:0]              evt_dev_id_o,
  output logic [15:0]              evt_vq_o,
  // a queue entered the error state (one-cycle pulse)
  output logic                     err_irq_o
);

  localparam int unsigned AW    = AXI_ADDR_W;
  localparam int unsigned DW    = AXI_DATA_W;
  localparam int unsigned LANES = DW / 32;
  localparam int unsigned NRD   = (LANES + 2) / 2;
  localparam int unsigned OMAX  = (WR_OUTSTANDING > RD_OUTSTANDING) ? WR_OUTSTANDING : RD_OUTSTANDING;
  localparam int unsigned OW    = $clog2(OMAX + 1);
  localparam int unsigned ECW   = $clog2(ELEM_FIFO_DEPTH + 1);
  localparam int unsigned ERW   = $clog2(NRD + 1);
  localparam int unsigned FCW   = $clog2(CPL_FIFO_DEPTH + 1);

  function automatic bit pow2(int unsigned v);
    return v != 0 && (v & (v - 1)) == 0;
  endfunction

  // elaboration-time parameter checks
  if (NUM_Q < 1 || NUM_Q > 64) begin : g_param_err0
    $fatal(1, "vmsg_used_engine: NUM_Q must be 1..64");
  end
  if (AXI_DATA_W < 32 || AXI_DATA_W > 1024 || !pow2(AXI_DATA_W)) begin : g_param_err1
    $fatal(1, "vmsg_used_engine: AXI_DATA_W must be a power of two, 32..1024");
  end
  if (AXI_ADDR_W < 32 || AXI_ADDR_W > 64) begin : g_param_err2
    $fatal(1, "vmsg_used_engine: AXI_ADDR_W must be 32..64");
  end
  if (AXI_ID_W < 1 || AXI_ID_W > 32) begin : g_param_err3
    $fatal(1, "vmsg_used_engine: AXI_ID_W must be 1..32");
  end
  if (AXI_ID_W < 32 && (64'(AXI_ID) >> AXI_ID_W) != 64'd0) begin : g_param_err7
    $fatal(1, "vmsg_used_engine: AXI_ID must fit into AXI_ID_W bits");
  end
  if (MEM_TIMEOUT >= (1 << 24)) begin : g_param_err8
    $fatal(1, "vmsg_used_engine: MEM_TIMEOUT must be 0..2^24-1");
  end
  if (!pow2(CPL_FIFO_DEPTH) || !pow2(ELEM_FIFO_DEPTH) || !pow2(DESC_FIFO_DEPTH) || !pow2(WR_OUTSTANDING) || !pow2(RD_OUTSTANDING)
      || !pow2(META_FIFO_DEPTH)) begin : g_param_err4
    $fatal(1, "vmsg_used_engine: FIFO depths and outstanding limits must be powers of two");
  end
  if (ELEM_FIFO_DEPTH < 4 || ELEM_FIFO_DEPTH < NRD) begin : g_param_err5
    $fatal(1, "vmsg_used_engine: ELEM_FIFO_DEPTH too small");
  end
  if (WR_OUTSTANDING < 2 || RD_OUTSTANDING < 2 || DESC_FIFO_DEPTH < 2 || META_FIFO_DEPTH < 2) begin : g_param_err6
    $fatal(1, "vmsg_used_engine: WR_OUTSTANDING, RD_OUTSTANDING, DESC_FIFO_DEPTH and META_FIFO_DEPTH must be >= 2");
  end

  // queue state
  logic [NUM_Q-1:0]         q_evidx, q_flush, q_resetting, q_rst_done, q_rd_req, q_cpl_ok, q_cpl_drop;
  logic [NUM_Q-1:0][AW-1:0] q_used, q_avail;
  logic [NUM_Q-1:0][4:0]    q_size_log2;
  logic [NUM_Q-1:0][15:0]   q_dev_id, q_vq, q_acc, q_vis, q_old;
  logic [NUM_Q-1:0]         acc, drop, merged, evt_pending;
  logic                     bad_q;

  // firmware path
  logic           fw_push, fw_full;
  logic [5:0]     fw_queue;
  logic [31:0]    fw_id, fw_len;
  logic [FCW-1:0] fw_count;

  // element FIFO
  logic                 elem_push, elem_full;
  logic [2:0]           elem_room;   // [k]: at least k+1 entries free
  logic [63:0]          elem_data;
  logic [NRD-1:0][63:0] ew_data;
  logic [ECW-1:0]       ew_count;
  logic [ERW-1:0]       ew_pop;
  // backlog: a quarter of the element FIFO waits for the write channel; then a queue with
  // nothing in flight does not publish at once but batches (IDX_BATCH / IDX_HOLD)
  logic                 backlog;
  assign backlog    = (ew_count > ECW'(ELEM_FIFO_DEPTH / 4));
  always_comb begin
    for (int unsigned k = 0; k < 3; k++) elem_room[k] = (32'(ew_count) + k + 1 <= ELEM_FIFO_DEPTH);
  end

  // ingress -> pieces
  logic          e_push;
  logic [2:0]    e_room;
  logic [QW-1:0] e_q;
  logic [15:0]   e_idx;

  // pieces -> burst
  logic          p_valid, p_ready, p_done, p_cont;
  logic [QW-1:0] p_q;
  logic [AW-1:0] p_addr;
  logic [1:0]    p_words, p_add;
  logic [15:0]   p_end;
  logic [8:0]    p_beats, p_room;

  // burst -> write path
  logic          d_valid, d_take, d_adv;
  logic [QW-1:0] d_q;
  logic [AW-1:0] d_addr;
  logic [10:0]   d_words;
  logic [8:0]    d_beats;
  logic [15:0]   d_end;

  // idx requests
  logic          idx_valid, idx_take;
  logic [QW-1:0] idx_q;
  logic [15:0]   idx_val;
  logic [AW-1:0] idx_addr;

  // write path events
  logic [NUM_Q-1:0] ld, issue, b;   // (one-hot by queue)
  logic          ld_adv, issue_idx, b_idx, b_ok, b_adv;
  logic [15:0]   ld_end, b_val;
  logic [AW-1:0] b_addr;

  // read path events
  logic          ar_take, dec, dec_notify, rerr;
  logic [NUM_Q-1:0] r;
  logic [QW-1:0] ar_q, r_q;
  logic [15:0]   dec_new;
  logic [AW-1:0] rerr_addr;
  // memory timeouts
  logic [23:0]   tmo_limit;
  logic          wr_tmo, rd_tmo;
  logic [AW-1:0] wr_tmo_addr, rd_tmo_addr;

  vmsg_eng_ctrl #(
    .NUM_Q(NUM_Q), .AW(AW), .DW(DW), .CPL_FIFO_DEPTH(CPL_FIFO_DEPTH), .OW(OW),
    .IDX_BATCH(IDX_BATCH), .IDX_HOLD(IDX_HOLD), .MEM_TIMEOUT(MEM_TIMEOUT)
  ) u_ctrl (
    .clk_i, .rst_ni,
    .s_reg_req_i, .s_reg_addr_i, .s_reg_we_i, .s_reg_wdata_i, .s_reg_wmask_i,
    .s_reg_rd_ack_o, .s_reg_rdata_o, .s_reg_wr_ack_o, .s_reg_err_o,
    .err_irq_o,
    .backlog_i (backlog),
    .fw_push_o (fw_push), .fw_queue_o (fw_queue), .fw_id_o (fw_id), .fw_len_o (fw_len),
    .fw_full_i (fw_full), .fw_count_i (fw_count),
    .acc_i (acc), .drop_i (drop), .bad_q_i (bad_q),
    .ld_i (ld), .ld_end_i (ld_end), .ld_adv_i (ld_adv),
    .issue_i (issue), .issue_idx_i (issue_idx),
    .b_i (b), .b_idx_i (b_idx), .b_ok_i (b_ok), .b_val_i (b_val),
    .b_adv_i (b_adv), .b_addr_i (b_addr),
    .idx_valid_o (idx_valid), .idx_q_o (idx_q), .idx_val_o (idx_val), .idx_addr_o (idx_addr),
    .idx_take_i (idx_take),
    .ar_take_i (ar_take), .ar_q_i (ar_q), .r_i (r),
    .dec_i (dec), .dec_new_i (dec_new), .dec_notify_i (dec_notify),
    .rerr_i (rerr), .rerr_addr_i (rerr_addr),
    .tmo_limit_o (tmo_limit), .wr_tmo_i (wr_tmo), .wr_tmo_addr_i (wr_tmo_addr),
    .rd_tmo_i (rd_tmo), .rd_tmo_addr_i (rd_tmo_addr),
    .merged_i (merged), .evt_pending_i (evt_pending),
    .q_evidx_o (q_evidx), .q_flush_o (q_flush), .q_resetting_o (q_resetting),
    .q_rst_done_o (q_rst_done), .q_used_o (q_used), .q_avail_o (q_avail),
    .q_size_log2_o (q_size_log2), .q_dev_id_o (q_dev_id), .q_vq_o (q_vq), .q_acc_o (q_acc),
    .q_vis_o (q_vis), .q_old_o (q_old), .q_cpl_ok_o (q_cpl_ok), .q_cpl_drop_o (q_cpl_drop), .q_rd_req_o (q_rd_req)
  );

  vmsg_eng_ingress #(
    .NUM_Q(NUM_Q), .CPL_FIFO_DEPTH(CPL_FIFO_DEPTH)
  ) u_ingress (
    .clk_i, .rst_ni,
    .s_cpl_valid_i, .s_cpl_ready_o, .s_cpl_queue_i, .s_cpl_id_i, .s_cpl_len_i,
    .fw_push_i (fw_push), .fw_queue_i (fw_queue), .fw_id_i (fw_id), .fw_len_i (fw_len),
    .fw_full_o (fw_full), .fw_count_o (fw_count),
    .q_cpl_ok_i (q_cpl_ok), .q_cpl_drop_i (q_cpl_drop), .q_acc_i (q_acc),
    .acc_o (acc), .drop_o (drop), .bad_q_o (bad_q),
    .elem_push_o (elem_push), .elem_data_o (elem_data), .elem_room_i (elem_room),
    .e_push_o (e_push), .e_q_o (e_q), .e_idx_o (e_idx), .e_room_i (e_room)
  );

  logic elem_empty;
  vmsg_eng_fifo #(.WIDTH(64), .DEPTH(ELEM_FIFO_DEPTH), .NRD(NRD)) u_elem (
    .clk_i, .rst_ni,
    .push_i  (elem_push),
    .wdata_i (elem_data),
    .pop_i   (ew_pop),
    .rdata_o (ew_data),
    .count_o (ew_count),
    .full_o  (elem_full),
    .empty_o (elem_empty)
  );

  vmsg_eng_piece #(
    .NUM_Q(NUM_Q), .AW(AW), .DW(DW), .MAX_BEATS(MAX_BURST_BEATS), .FIFO_DEPTH(META_FIFO_DEPTH)
  ) u_piece (
    .clk_i, .rst_ni,
    .e_push_i (e_push), .e_q_i (e_q), .e_idx_i (e_idx), .e_room_o (e_room),
    .q_used_i (q_used), .q_size_log2_i (q_size_log2),
    .p_valid_o (p_valid), .p_q_o (p_q), .p_addr_o (p_addr), .p_words_o (p_words),
    .p_done_o (p_done), .p_end_o (p_end), .p_cont_o (p_cont), .p_add_o (p_add),
    .p_beats_o (p_beats), .p_room_o (p_room), .p_ready_i (p_ready)
  );

  vmsg_eng_burst #(
    .NUM_Q(NUM_Q), .AW(AW), .MAX_BEATS(MAX_BURST_BEATS), .DESC_FIFO_DEPTH(DESC_FIFO_DEPTH)
  ) u_burst (
    .clk_i, .rst_ni,
    .p_valid_i (p_valid), .p_q_i (p_q), .p_addr_i (p_addr), .p_words_i (p_words),
    .p_done_i (p_done), .p_end_i (p_end), .p_cont_i (p_cont), .p_add_i (p_add),
    .p_beats_i (p_beats), .p_room_i (p_room), .p_ready_o (p_ready),
    .d_valid_o (d_valid), .d_q_o (d_q), .d_addr_o (d_addr), .d_words_o (d_words),
    .d_beats_o (d_beats), .d_end_o (d_end), .d_adv_o (d_adv), .d_take_i (d_take)
  );

  // the engine's side of the AXI boundary (see the register slices below)
  typedef struct packed {
    logic [AW-1:0] addr;
    logic [7:0]    len;
    logic [2:0]    size;
  } ax_t;
  typedef struct packed {
    logic [DW-1:0]   data;
    logic [DW/8-1:0] strb;
    logic            last;
  } w_t;
  typedef struct packed {
    logic [AXI_ID_W-1:0] id;
    logic [1:0]          resp;
  } b_t;
  typedef struct packed {
    logic [AXI_ID_W-1:0] id;
    logic [DW-1:0]       data;
    logic [1:0]          resp;
    logic                last;
  } r_t;
  ax_t                 wr_aw, aw_out, rd_ar, ar_out;
  w_t                  wr_w, w_out;
  b_t                  b_in_q;
  r_t                  r_in_q;
  logic                bvalid_q, rvalid_q;
  logic                wr_awvalid, wr_awready, wr_wvalid, wr_wready, wr_bready;
  logic                rd_arvalid, rd_arready, rd_rready;

  vmsg_eng_wr #(
    .NUM_Q(NUM_Q), .AW(AW), .DW(DW), .IDW(AXI_ID_W), .WR_OUTSTANDING(WR_OUTSTANDING),
    .ELEM_DEPTH(ELEM_FIFO_DEPTH), .AXI_ID(AXI_ID), .AXI_CACHE(AXI_CACHE), .AXI_PROT(AXI_PROT)
  ) u_wr (
    .clk_i, .rst_ni,
    .tmo_limit_i (tmo_limit), .tmo_o (wr_tmo), .tmo_addr_o (wr_tmo_addr),
    .idx_valid_i (idx_valid), .idx_q_i (idx_q), .idx_val_i (idx_val), .idx_addr_i (idx_addr),
    .idx_take_o (idx_take),
    .d_valid_i (d_valid), .d_q_i (d_q), .d_addr_i (d_addr), .d_words_i (d_words),
    .d_beats_i (d_beats), .d_end_i (d_end), .d_adv_i (d_adv), .d_take_o (d_take),
    .q_flush_i (q_flush),
    .ew_data_i (ew_data), .ew_count_i (ew_count), .ew_pop_o (ew_pop),
    .ld_o (ld), .ld_end_o (ld_end), .ld_adv_o (ld_adv),
    .issue_o (issue), .issue_idx_o (issue_idx),
    .b_o (b), .b_idx_o (b_idx), .b_ok_o (b_ok), .b_val_o (b_val),
    .b_adv_o (b_adv), .b_addr_o (b_addr),
    .m_axi_awid, .m_axi_awaddr (wr_aw.addr), .m_axi_awlen (wr_aw.len),
    .m_axi_awsize (wr_aw.size), .m_axi_awburst, .m_axi_awlock,
    .m_axi_awcache, .m_axi_awprot, .m_axi_awvalid (wr_awvalid),
    .m_axi_awready (wr_awready),
    .m_axi_wdata (wr_w.data), .m_axi_wstrb (wr_w.strb), .m_axi_wlast (wr_w.last),
    .m_axi_wvalid (wr_wvalid), .m_axi_wready (wr_wready),
    .m_axi_bid (b_in_q.id), .m_axi_bresp (b_in_q.resp), .m_axi_bvalid (bvalid_q), .m_axi_bready (wr_bready)
  );

  vmsg_eng_rd #(
    .NUM_Q(NUM_Q), .AW(AW), .DW(DW), .IDW(AXI_ID_W), .RD_OUTSTANDING(RD_OUTSTANDING),
    .AXI_ID(AXI_ID), .AXI_CACHE(AXI_CACHE), .AXI_PROT(AXI_PROT)
  ) u_rd (
    .clk_i, .rst_ni,
    .tmo_limit_i (tmo_limit), .tmo_o (rd_tmo), .tmo_addr_o (rd_tmo_addr),
    .q_rd_req_i (q_rd_req), .q_evidx_i (q_evidx), .q_flush_i (q_flush), .q_resetting_i (q_resetting),
    .q_avail_i (q_avail), .q_size_log2_i (q_size_log2), .q_vis_i (q_vis), .q_old_i (q_old),
    .ar_take_o (ar_take), .ar_q_o (ar_q), .r_o (r), .r_q_o (r_q),
    .dec_o (dec), .dec_new_o (dec_new), .dec_notify_o (dec_notify),
    .rerr_o (rerr), .rerr_addr_o (rerr_addr),
    .m_axi_arid, .m_axi_araddr (rd_ar.addr), .m_axi_arlen (rd_ar.len),
    .m_axi_arsize (rd_ar.size), .m_axi_arburst, .m_axi_arlock,
    .m_axi_arcache, .m_axi_arprot, .m_axi_arvalid (rd_arvalid),
    .m_axi_arready (rd_arready),
    .m_axi_rid (r_in_q.id), .m_axi_rdata (r_in_q.data), .m_axi_rresp (r_in_q.resp),
    .m_axi_rlast (r_in_q.last),
    .m_axi_rvalid (rvalid_q), .m_axi_rready (rd_rready)
  );

  // ---------------------------------------------------------------------------------------
  // AXI boundary: register slices on AW, W and AR, registers on B and R (always accepted), so
  // that no handshake of the interconnect reaches the engine's state in the same cycle and the
  // outputs come from flops. The attributes, which are parameters, go straight to the ports.
  vmsg_eng_skid #(.WIDTH($bits(ax_t))) u_aw_slice (
    .clk_i, .rst_ni,
    .valid_i (wr_awvalid), .ready_o (wr_awready), .data_i (wr_aw),
    .valid_o (m_axi_awvalid), .ready_i (m_axi_awready), .data_o (aw_out)
  );
  assign m_axi_awaddr  = aw_out.addr;
  assign m_axi_awlen   = aw_out.len;
  assign m_axi_awsize  = aw_out.size;

  vmsg_eng_skid #(.WIDTH($bits(w_t))) u_w_slice (
    .clk_i, .rst_ni,
    .valid_i (wr_wvalid), .ready_o (wr_wready), .data_i (wr_w),
    .valid_o (m_axi_wvalid), .ready_i (m_axi_wready), .data_o (w_out)
  );
  assign m_axi_wdata = w_out.data;
  assign m_axi_wstrb = w_out.strb;
  assign m_axi_wlast = w_out.last;

  vmsg_eng_skid #(.WIDTH($bits(ax_t))) u_ar_slice (
    .clk_i, .rst_ni,
    .valid_i (rd_arvalid), .ready_o (rd_arready), .data_i (rd_ar),
    .valid_o (m_axi_arvalid), .ready_i (m_axi_arready), .data_o (ar_out)
  );
  assign m_axi_araddr  = ar_out.addr;
  assign m_axi_arlen   = ar_out.len;
  assign m_axi_arsize  = ar_out.size;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      bvalid_q <= 1'b0;
      rvalid_q <= 1'b0;
    end else begin
      bvalid_q <= m_axi_bvalid;
      rvalid_q <= m_axi_rvalid;
    end
  end
  always_ff @(posedge clk_i) begin
    b_in_q <= '{id: m_axi_bid, resp: m_axi_bresp};
    r_in_q <= '{id: m_axi_rid, data: m_axi_rdata, resp: m_axi_rresp, last: m_axi_rlast};
  end
  assign m_axi_bready = 1'b1;
  assign m_axi_rready = 1'b1;
  // (the write and read paths take every B and R beat: their ready is always 1)
  logic unused_bus;
  assign unused_bus = ^{wr_bready, rd_rready};

  // A queue reset clears its event state a cycle after it finished (no notification of the
  // queue can be decided that soon after).
  logic [NUM_Q-1:0] q_rst_done_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) q_rst_done_q <= '0;
    else         q_rst_done_q <= q_rst_done;
  end

  vmsg_eng_evt #(.NUM_Q(NUM_Q)) u_evt (
    .clk_i, .rst_ni,
    .notify_i (dec && dec_notify), .notify_q_i (r_q), .clear_i (q_rst_done_q),
    .q_dev_id_i (q_dev_id), .q_vq_i (q_vq),
    .merged_o (merged), .pending_o (evt_pending),
    .evt_valid_o, .evt_ready_i, .evt_dev_id_o, .evt_vq_o
  );

  logic unused_top;
  assign unused_top = ^{elem_empty, elem_full};

endmodule

`default_nettype wire
